"""The dockyard kernel: installed with `dockyard kernel install`, magics there without %load_ext."""
import json
import subprocess
import sys

from .conftest import outputs, run_cells


def test_kernelspec_is_listed_by_jupyter(dockyard_kernel):
    listing = subprocess.run([sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
                             capture_output=True, text=True, check=True)
    spec = json.loads(listing.stdout)["kernelspecs"]["dockyard"]
    assert spec["spec"]["display_name"] == "Python 3 (dockyard)"
    assert spec["spec"]["argv"][1:4] == ["-m", "dockyard.kernel", "-f"]


def test_kernel_has_the_magics_and_shows_errors_in_one_line(dockyard_kernel, tmp_path):
    nb = run_cells(["get_ipython().kernel.implementation",
                    "%container run --no-such-flag busybox",
                    "%dockyard info"], tmp_path, allow_errors=True,
                   env={"DOCKYARD_DATA_ROOT": str(tmp_path / "root")})
    impl, bad, info = nb.cells
    assert outputs(impl, "execute_result")[0].data["text/plain"] == "'dockyard'"
    (err,) = outputs(bad, "error")
    assert err.ename == "InvalidArgument" and len(err.traceback) == 1
    assert "unrecognized arguments: --no-such-flag" in err.evalue
    (result,) = outputs(info, "execute_result")
    html = result.data["text/html"]
    assert "dy-info" in html and "overlayfs" in html and "Cgroup Version" in html
    assert str(tmp_path / "root") in html          # the kernel runs on the data root it was given


def test_install_sys_prefix_and_name_flags_parse(dockyard_kernel):
    from dockyard.engine.cli.main import parse
    args = parse(["kernel", "install", "--user", "--name", "dy2"])
    assert (args.user, args.sys_prefix, args.prefix, args.name) == (True, False, None, "dy2")
