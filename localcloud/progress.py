"""The demo's progress bar: simulated day, events handled and events per second (rich).

`DemoProgress` is handed to `Simulation.run` as its `progress` callback (called once per event with
the event's simulated instant); it draws nothing when the output is not a terminal (rich's default),
so CI logs and tests stay clean.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class DemoProgress:
    """A rich progress bar over the simulated days of a run."""

    def __init__(self, start: date, days: int, console: Console | None = None) -> None:
        self._start = start
        self._days = days
        self._events = 0
        self._began = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]simulated day[/] {task.fields[day]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[events]} events, {task.fields[rate]} events/s"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("run", total=days, day=start.isoformat(), events=0, rate="0")

    def __enter__(self) -> DemoProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def __call__(self, moment: datetime) -> None:
        """One event handled at the simulated instant `moment` (aware UTC)."""
        self._events += 1
        elapsed = max(time.perf_counter() - self._began, 1e-9)
        day = min(max((moment.date() - self._start).days, 0), self._days)
        self._progress.update(
            self._task,
            completed=day,
            day=min(moment.date(), self._start + timedelta(days=self._days)).isoformat(),
            events=self._events,
            rate=f"{self._events / elapsed:,.1f}",
        )


__all__ = ["DemoProgress"]
