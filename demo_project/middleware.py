"""A write to a list URL without its trailing slash answers 404 naming the right URL.

Django's ``APPEND_SLASH`` redirects only GET and HEAD usefully: a redirected POST loses its body
(and with DEBUG on, Django raises an error instead).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import is_valid_path

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class MissingSlashMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if (
            request.method not in SAFE_METHODS
            and not path.endswith("/")
            and not is_valid_path(path)
            and is_valid_path(f"{path}/")
        ):
            return JsonResponse(
                {"detail": f"Not found. Did you mean {request.path}/ (with a trailing slash)?"},
                status=404,
            )
        return self.get_response(request)
