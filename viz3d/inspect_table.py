"""The terminal table of ``viz3d inspect`` (rich)."""

from __future__ import annotations

from rich.table import Table

from viz3d.capture.stats import LayerStats


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def stats_table(stats: list[LayerStats], title: str = "") -> Table:
    """Layer, type, output shape, parameters, activation mean/std (finite values), dead share, NaN/Inf count, flags."""
    table = Table(title=title, header_style="bold", show_lines=False)
    for col, justify in (
        ("layer", "left"),
        ("type", "left"),
        ("output (per sample)", "left"),
        ("params", "right"),
        ("act mean", "right"),
        ("act std", "right"),
        ("dead", "right"),
        ("NaN/Inf", "right"),
        ("flags", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in stats:
        table.add_row(
            s.name,
            s.op,
            "x".join(str(v) for v in s.shape[1:]) or "-",
            f"{s.params:,}" if s.params else "",
            _num(s.act_mean),
            _num(s.act_std),
            f"{s.dead_fraction * 100:.0f}%" if s.dead_fraction else "",
            f"[magenta]{s.nonfinite_count:,}[/magenta]" if s.nonfinite_count else "",
            "[red]" + "; ".join(s.flags) + "[/red]" if s.flags else "",
        )
    return table
