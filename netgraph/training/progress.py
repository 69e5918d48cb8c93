"""How NetTrain reports progress: "Panel" (in Jupyter a live panel of loss curves, elsewhere
the progress line), "ProgressBar" (a live line), "Print" (a line per round), None, or a
callable that receives a dict per round.

At the end of a round a reporter gets the round's measurements and the validation set's
(dicts name → value, "Loss" among them; None without a validation set)."""

from __future__ import annotations

import html
import sys

from ..graphics import have_matplotlib, loss_figure, svg


def reporter(spec):
    if spec is None:
        return _Silent()
    if spec == "Panel":
        return _Panel() if in_notebook() else _Bar(sys.stderr)
    if spec == "ProgressBar":
        return _Bar(sys.stderr)
    if spec == "Print":
        return _Print(sys.stdout)
    if callable(spec):
        return _Callback(spec)
    raise ValueError(
        'NetTrain: training_progress_reporting must be "Panel", "ProgressBar", "Print", None '
        f"or a function called with each round's results; received {spec!r}."
    )


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab)."""
    if "ipykernel" not in sys.modules:
        return False
    from ipykernel.zmqshell import ZMQInteractiveShell
    from IPython import get_ipython

    return isinstance(get_ipython(), ZMQInteractiveShell)


class _Silent:
    def batch(self, rnd, rounds, *, seen, per_round, loss, elapsed):
        pass

    def round(self, rnd, rounds, measured, validation, elapsed):
        pass

    def close(self):
        pass


def brief(values: dict | None) -> str:
    """The single-number measurements other than the loss, as "  Accuracy 0.9375"."""
    if not values:
        return ""
    return "".join(
        f"  {k} {v:.4g}" for k, v in values.items() if k != "Loss" and isinstance(v, float)
    )


class _Callback(_Silent):
    def __init__(self, f):
        self.f = f

    def round(self, rnd, rounds, measured, validation, elapsed):
        self.f(
            {
                "Round": rnd,
                "RoundLoss": measured["Loss"],
                "ValidationLoss": None if validation is None else validation["Loss"],
                "RoundMeasurements": measured,
                "ValidationMeasurements": validation,
                "TimeElapsed": elapsed,
            }
        )


class _Print(_Silent):
    def __init__(self, out):
        self.out = out

    def round(self, rnd, rounds, measured, validation, elapsed):
        v = "" if validation is None else f"  validation loss {validation['Loss']:.5g}"
        print(
            f"round {rnd}/{rounds}  loss {measured['Loss']:.5g}{brief(measured)}{v}"
            f"{brief(validation)}  {elapsed:.1f} s",
            file=self.out,
            flush=True,
        )


def progress(now: tuple) -> tuple[float, float]:
    """The fraction of the run done and the seconds left, from a batch's figures."""
    rnd, rounds, seen, per_round, _, elapsed = now
    done = (rnd - 1 + min(seen, per_round) / per_round) / rounds
    return done, elapsed * (1 - done) / done if done > 0 else 0.0


class _Bar(_Silent):
    """In a terminal (or a notebook), one line rewritten in place with a carriage return, at
    most ten times a second: round, progress, batch loss, the last round's measurements,
    validation loss and measurements, examples per second and the time left; it ends at
    100 %. Elsewhere (a log file, a pipe) one line per round, without carriage returns."""

    def __init__(self, out):
        self.out, self.last, self.measured, self.shown = out, -1.0, "", False
        isatty = getattr(out, "isatty", None)
        self.live = bool(isatty and isatty())
        self.now = None  # the last batch's figures: (rnd, rounds, seen, per_round, loss, elapsed)

    def batch(self, rnd, rounds, *, seen, per_round, loss, elapsed):
        self.now = (rnd, rounds, seen, per_round, loss, elapsed)
        if self.live and elapsed - self.last >= 0.1:
            self.last = elapsed
            self._draw(self.now)

    def _draw(self, now: tuple) -> None:
        rnd, rounds, seen, per_round, loss, elapsed = now
        done, left = progress(now)
        width = 20
        bar = "█" * int(done * width) + "·" * (width - int(done * width))
        line = (
            f"\rround {rnd}/{rounds} {bar} {done:4.0%}  loss {loss:.4g}{self.measured}  "
            f"{self._speed(rnd, seen, per_round, elapsed)}  {left:.0f} s left  "
        )
        self.out.write(line)
        self.out.flush()
        self.shown = True

    @staticmethod
    def _speed(rnd, seen, per_round, elapsed) -> str:
        speed = ((rnd - 1) * per_round + seen) / elapsed if elapsed > 0 else 0.0
        return f"{speed:,.0f} ex/s"

    def _note(self, measured, validation) -> None:
        """Keep the round's measurements and validation, as the line shows them."""
        v = "" if validation is None else f"  val {validation['Loss']:.4g}{brief(validation)}"
        self.measured = brief(measured) + v

    def _ended(self, rnd, rounds, elapsed) -> tuple:
        """The figures of round ``rnd`` ended: every example seen, the last batch's loss."""
        per_round, loss = self.now[3], self.now[4]
        return (rnd, rounds, per_round, per_round, loss, elapsed)

    def round(self, rnd, rounds, measured, validation, elapsed):
        self._note(measured, validation)
        if self.now is None:
            return
        if self.live:  # the round's end, drawn whatever the time since the last drawing
            self._draw(self._ended(rnd, rounds, elapsed))
            return
        speed = self._speed(rnd, self.now[3], self.now[3], elapsed)
        self.out.write(
            f"round {rnd}/{rounds}  loss {measured['Loss']:.4g}{self.measured}  {speed}  "
            f"{elapsed:.1f} s\n"
        )
        self.out.flush()

    def close(self):
        if self.shown:
            self.out.write("\n")
            self.out.flush()


class _Panel(_Bar):
    """In Jupyter: one output area redrawn in place, at most twice a second: a progress bar,
    the line of figures of the progress line (round, loss, measurements, validation, examples
    per second, time left) and the round and validation loss curves so far, redrawn at most
    once a second and at the end. The curves need matplotlib; without it the panel has the
    bar and the figures. A front-end that shows no HTML (a console) gets the line as text."""

    def __init__(self):
        from IPython.display import display

        super().__init__(None)
        self.live, self.rnd = False, None  # the last round ended
        self.losses, self.validation, self.chart, self.charted = [], [], "", -1.0
        start = {"text/html": "<div>NetTrain: starting…</div>", "text/plain": "NetTrain: starting…"}
        self.handle = display(start, raw=True, display_id=True)

    def batch(self, rnd, rounds, *, seen, per_round, loss, elapsed):
        self.now = (rnd, rounds, seen, per_round, loss, elapsed)
        if elapsed - self.last >= 0.5:
            self.last = elapsed
            self._show(self.now)

    def round(self, rnd, rounds, measured, validation, elapsed):
        self._note(measured, validation)
        self.rnd = rnd
        self.losses.append(float(measured["Loss"]))
        if validation is not None:
            self.validation.append(float(validation["Loss"]))
        if self.now is None or elapsed - self.last < 0.5:
            return
        self.last = elapsed
        if elapsed - self.charted >= 1.0:
            self.charted = elapsed
            self.chart = self._curves()
        self._show(self._ended(rnd, rounds, elapsed))

    def _curves(self) -> str:
        if not have_matplotlib():
            return ""
        first = self.rnd - len(self.losses) + 1  # a resumed run starts after round 1
        return svg(loss_figure(self.losses, self.validation, first=first, size=(5, 2.6)))

    def _show(self, now: tuple, *, finished: bool = False) -> None:
        rnd, rounds, seen, per_round, loss, elapsed = now
        done, left = progress(now)
        when = f"finished in {elapsed:.1f} s" if finished else f"{left:.0f} s left"
        line = (
            f"round {rnd}/{rounds}  loss {loss:.4g}{self.measured}  "
            f"{self._speed(rnd, seen, per_round, elapsed)}  {when}"
        )
        shown = {
            "text/html": f'<div style="font-family:sans-serif;font-size:13px">'
            f'<progress value="{done:.4f}" max="1" style="width:20em"></progress> '
            f"{done:.0%}<div>{html.escape(line)}</div>{self.chart}</div>",
            "text/plain": line,
        }
        self.handle.update(shown, raw=True)

    def close(self):
        """The last state, whatever the time since the last drawing: the round training
        stopped in (the last whole round, or the one under way when it stopped early)."""
        if self.now is None:
            return
        last = self.now
        if self.rnd is not None:
            self.chart = self._curves()
            last = self._ended(self.rnd, self.now[1], self.now[5])
        self._show(last, finished=True)
