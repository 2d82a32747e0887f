"""The operations of the 守望 REST API, one module per concept; `shouwang.api.api` mounts them."""
