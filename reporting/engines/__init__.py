"""Where a batch's reports run: here (`local`, the default) or on Celery workers (`celery`)."""
