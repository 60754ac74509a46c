"""The API's JSON parser: DRF's, with auror.jsonlimits applied before a view sees the body."""

from __future__ import annotations

import codecs
import json

from django.conf import settings
from rest_framework import exceptions, parsers

from auror import jsonlimits
from auror.middleware import NUL_MESSAGE


class JSONParser(parsers.JSONParser):
    """Too deep a body is a 400 (not a RecursionError, a 500); a NUL in any string is a 400 naming
    its field by dotted path, as serializer errors are named."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        try:
            jsonlimits.check_depth(text)
            data = json.loads(text, parse_constant=_no_constant)
        except jsonlimits.TooDeep as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        path = jsonlimits.nul_path(data)
        if path is not None:
            raise exceptions.ValidationError({path: [NUL_MESSAGE]})
        return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")  # NaN, Infinity: DRF's strict mode refuses them too
