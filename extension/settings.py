"""Engine settings for the notebook, as traitlets: set them in Jupyter config files or %config.

    %config DockyardSettings.log_tail = 50
    c.DockyardSettings.data_root = "/srv/dockyard"      # ipython_kernel_config.py
"""
from traitlets import Float, Int, Unicode
from traitlets.config import Configurable


class DockyardSettings(Configurable):
    """What the magics and widgets use when they talk to the engine."""

    data_root = Unicode(
        None, allow_none=True,
        help="Engine state directory; None means $DOCKYARD_DATA_ROOT or /var/lib/dockyard.",
    ).tag(config=True)
    default_network = Unicode(
        None, allow_none=True,
        help="Network for `%container run` when no --network is given; None is the engine's default.",
    ).tag(config=True)
    log_tail = Int(10, min=0, help="How many log lines the container widget shows.").tag(config=True)
    refresh_seconds = Float(
        1.0, min=0.1, help="How often a container widget polls its container.",
    ).tag(config=True)
    stop_timeout = Int(
        2, min=0, help="Seconds the widget's Stop and Restart give a container before SIGKILL.",
    ).tag(config=True)
    interrupt_timeout = Float(
        0.3, min=0,
        help="Seconds an interrupted cell's container gets after its stop signal before SIGKILL "
             "(short: the cell answers within a second).",
    ).tag(config=True)
