"""The `<id:…>` path converter every route with a row id uses: at most 18 digits, which any
database's 64-bit id column holds. A longer number matches no route (404) instead of
overflowing in the database (a 500)."""

from django.urls import register_converter


class RowIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(RowIdConverter, "id")
