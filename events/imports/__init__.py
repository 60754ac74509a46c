"""Bulk import of events, by concern:

- `report`: what an import reports (ImportResult, RowError, ImportFileError);
- `archive`: .zip safety (checked before anything is extracted, extracted within limits);
- `readers`: ImportSource (JSONL and CSV rows as interchange data), image path checks;
- `writer`: EventImporter, which checks rows and writes them in batches through the event write
  path (events.services.events_write), and `events_import`, the command's entry point;
- `images`: the stills a row names, stored as evidence;
- `parallel`: rows checked in helper processes while the importer writes;
- `jobs`: imports uploaded in the browser, worked through by a Celery job.
"""
