"""Roles and what each may do. One table, read by the scoping layer and by the views.

三员分立 (separation of the three administrators, 等保 level 3): the system administrator
manages users and configuration but sees no personal data; the security administrator manages
roles and keys; the audit administrator only reads the audit log.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _

from shouwang.regions.models import Level


class Role(models.TextChoices):
    VILLAGE_CADRE = "village_cadre", _("村级干部")
    TOWNSHIP_OFFICER = "township_officer", _("乡镇工作人员")
    COUNTY_OFFICER = "county_officer", _("县级工作人员")
    PREFECTURE_VIEWER = "prefecture_viewer", _("市级查看")
    PROVINCE_VIEWER = "province_viewer", _("省级查看")
    DEPARTMENT_OFFICER = "department_officer", _("部门数据专员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")


class Capability(StrEnum):
    VIEW_REGISTRY = "view_registry"  # households and members, masked
    EDIT_REGISTRY = "edit_registry"
    IMPORT_REGISTRY = "import_registry"
    REVEAL_ID_NUMBER = "reveal_id_number"  # show one full ID number; audited
    UPLOAD_FEEDS = "upload_feeds"
    VIEW_FEEDS = "view_feeds"  # the feed batches of one's county: counts and error reports, no rows
    MANAGE_FEEDS = "manage_feeds"  # withdraw any feed batch of one's county (the uploader may too)
    MANAGE_USERS = "manage_users"
    MANAGE_ROLES = "manage_roles"
    READ_AUDIT = "read_audit"
    VIEW_JOBS = "view_jobs"
    RUN_SCREENING = "run_screening"  # start a screening of one's county (部门筛查预警)


C = Capability
CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.VILLAGE_CADRE: frozenset({C.VIEW_REGISTRY, C.EDIT_REGISTRY, C.VIEW_JOBS}),
    Role.TOWNSHIP_OFFICER: frozenset({C.VIEW_REGISTRY, C.EDIT_REGISTRY, C.IMPORT_REGISTRY, C.VIEW_JOBS}),
    Role.COUNTY_OFFICER: frozenset(
        {
            C.VIEW_REGISTRY,
            C.EDIT_REGISTRY,
            C.IMPORT_REGISTRY,
            C.REVEAL_ID_NUMBER,
            C.VIEW_JOBS,
            C.VIEW_FEEDS,
            C.MANAGE_FEEDS,
            C.RUN_SCREENING,
        }
    ),
    Role.PREFECTURE_VIEWER: frozenset({C.VIEW_REGISTRY}),
    Role.PROVINCE_VIEWER: frozenset({C.VIEW_REGISTRY}),
    Role.DEPARTMENT_OFFICER: frozenset({C.UPLOAD_FEEDS, C.VIEW_FEEDS, C.VIEW_JOBS}),
    Role.SYSTEM_ADMIN: frozenset({C.MANAGE_USERS}),
    Role.SECURITY_ADMIN: frozenset({C.MANAGE_ROLES}),
    Role.AUDIT_ADMIN: frozenset({C.READ_AUDIT}),
}

# The level a user's region must have for the role (administrators may sit at any level).
ROLE_LEVEL: dict[str, int | None] = {
    Role.VILLAGE_CADRE: Level.VILLAGE,
    Role.TOWNSHIP_OFFICER: Level.TOWNSHIP,
    Role.COUNTY_OFFICER: Level.COUNTY,
    Role.PREFECTURE_VIEWER: Level.PREFECTURE,
    Role.PROVINCE_VIEWER: Level.PROVINCE,
    Role.DEPARTMENT_OFFICER: Level.COUNTY,
    Role.SYSTEM_ADMIN: None,
    Role.SECURITY_ADMIN: None,
    Role.AUDIT_ADMIN: None,
}

ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
