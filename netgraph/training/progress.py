"""How NetTrain reports progress: "ProgressBar" (a live line), "Print" (a line per round),
None, or a callable that receives a dict per round.

At the end of a round a reporter gets the round's measurements and the validation set's
(dicts name → value, "Loss" among them; None without a validation set)."""

from __future__ import annotations

import sys


def reporter(spec):
    if spec is None:
        return _Silent()
    if spec == "ProgressBar":
        return _Bar(sys.stderr)
    if spec == "Print":
        return _Print(sys.stdout)
    if callable(spec):
        return _Callback(spec)
    raise ValueError(
        'NetTrain: training_progress_reporting must be "ProgressBar", "Print", None or a '
        f"function called with each round's results; received {spec!r}."
    )


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
        done = (rnd - 1 + min(seen, per_round) / per_round) / rounds
        width = 20
        bar = "█" * int(done * width) + "·" * (width - int(done * width))
        left = elapsed * (1 - done) / done if done > 0 else 0.0
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

    def round(self, rnd, rounds, measured, validation, elapsed):
        v = "" if validation is None else f"  val {validation['Loss']:.4g}{brief(validation)}"
        self.measured = brief(measured) + v
        if self.now is None:
            return
        per_round, loss = self.now[3], self.now[4]
        if self.live:  # the round's end, drawn whatever the time since the last drawing
            self._draw((rnd, rounds, per_round, per_round, loss, elapsed))
            return
        speed = self._speed(rnd, per_round, per_round, elapsed)
        self.out.write(
            f"round {rnd}/{rounds}  loss {measured['Loss']:.4g}{self.measured}  {speed}  "
            f"{elapsed:.1f} s\n"
        )
        self.out.flush()

    def close(self):
        if self.shown:
            self.out.write("\n")
            self.out.flush()
