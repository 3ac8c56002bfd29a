"""Errors raised by services; views and the API turn them into flashes, field errors or JSON."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal a user can understand. `fields` maps field name -> Chinese reason."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_failed"

    def __init__(self, fields: dict[str, str], message: str = "提交的内容有误，请按提示修改"):
        super().__init__(message, fields)


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"

    def __init__(self, message: str = "您没有权限执行此操作"):
        super().__init__(message)


class NotFound(ServiceError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "您访问的内容不存在或已被删除"):
        super().__init__(message)


class Conflict(ServiceError):
    """The request is valid but the object's state forbids it (e.g. an illegal transition)."""

    status = 409
    code = "conflict"


class StorageUnavailable(ServiceError):
    """A file could not be written (disk full: 507, directory not writable: 503); nothing was kept."""

    status = 503
    code = "storage_unavailable"

    def __init__(self, message: str, fields: dict[str, str] | None = None, *, full: bool = False):
        super().__init__(message, fields)
        if full:
            self.status, self.code = 507, "insufficient_storage"
