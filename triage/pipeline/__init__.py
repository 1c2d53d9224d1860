"""The triage pipeline: four subtasks per ticket, run by a Celery worker through the router.

The pipeline names tasks, never models: the routing service picks models.
"""
