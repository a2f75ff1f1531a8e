"""Export and import: the JSON document of ARCHITECTURE 3.7 and a CSV view."""

from cmr_desktop.interop.csv_export import CSV_COLUMNS, write_csv
from cmr_desktop.interop.document import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    ImportData,
    ImportProblem,
    build_document,
    parse_document,
    read_document,
    validate_document,
)
from cmr_desktop.interop.plan import ImportPlan, plan_import

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "ImportData",
    "ImportPlan",
    "ImportProblem",
    "build_document",
    "parse_document",
    "plan_import",
    "read_document",
    "validate_document",
    "write_csv",
]
