"""CSV ingestion for CsvExampleGen on one machine: pyarrow's multithreaded reader, streaming."""
