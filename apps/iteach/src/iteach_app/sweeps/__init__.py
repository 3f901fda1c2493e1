"""Many runs from one file: a grid of settings (`spec`), where its runs execute (`launchers`),
running and resuming it (`runner`), its table (`aggregate`) and tuning on validation (`tune`)."""

from iteach_app.sweeps.aggregate import paired_statistics, write_summary
from iteach_app.sweeps.launchers import LocalLauncher, RayLauncher, Resources, SlurmLauncher
from iteach_app.sweeps.runner import SweepFolder, SweepReport, run_sweep
from iteach_app.sweeps.spec import SweepSpec, load_sweep

__all__ = [
    "LocalLauncher",
    "RayLauncher",
    "Resources",
    "SlurmLauncher",
    "SweepFolder",
    "SweepReport",
    "SweepSpec",
    "load_sweep",
    "paired_statistics",
    "run_sweep",
    "write_summary",
]
