"""`jobs expire ID`: an admin expires a job now (reason `admin`); `jobs cancel ID` stops one."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from service.bootstrap import running_services
from service.errors import BadRequest, NotFound, WrongExpectedVersion
from service.events.job import job_stream
from service.processing.cancel import cancel_job
from service.projections.job_state import fold
from service.reactors.expire import expire_job
from service.settings import Settings

ATTEMPTS = 3  # a job's stream rarely moves twice while an admin expires it
CLI_ACTOR = "admin-cli"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("jobs", help="manage jobs")
    actions = parser.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    expire = actions.add_parser("expire", help="expire a job now; its outputs are then deleted")
    expire.add_argument("job_id", metavar="ID")
    expire.set_defaults(run=run_expire)
    cancel = actions.add_parser(
        "cancel", help="stop a job: at once if not yet started, else its worker stops it"
    )
    cancel.add_argument("job_id", metavar="ID")
    cancel.set_defaults(run=run_cancel)


async def run_cancel(settings: Settings, args: argparse.Namespace) -> int:
    job_id = _parse_id(args.job_id)
    async with running_services(settings, with_components=False) as services:
        result = await cancel_job(
            services.store,
            job_id,
            requested_by=CLI_ACTOR,
            actor=CLI_ACTOR,
            now=services.clock.now(),
        )
    status = result.job.status
    if result.appended is None:
        print(f"job {job_id} is already {status}")
    elif status == "cancelling":
        print(f"job {job_id} is cancelling: its worker stops it and keeps what was rendered")
    else:
        print(f"job {job_id} {status}")
    return 0


async def run_expire(settings: Settings, args: argparse.Namespace) -> int:
    job_id = _parse_id(args.job_id)
    async with running_services(settings, with_components=False) as services:
        stream = job_stream(job_id)
        for _ in range(ATTEMPTS):
            # The stream, not the view: the view may lag, and the admin means the job now.
            state = fold(await services.store.read_stream(stream))
            if state is None:
                raise NotFound(f"no job {job_id}")
            if state.status == "expired":
                print(f"job {job_id} is already expired ({state.expiry_reason})")
                return 0
            try:
                await expire_job(
                    services.store, state, "admin", services.clock.now(), actor=CLI_ACTOR
                )
            except WrongExpectedVersion:
                continue  # it moved meanwhile: look again
            print(f"job {job_id} expired (admin); its outputs will be deleted")
            return 0
        raise WrongExpectedVersion(
            stream, state.version, await services.store.stream_version(stream)
        )


def _parse_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise BadRequest(f"not a job id: {text!r}", field="job_id") from None
