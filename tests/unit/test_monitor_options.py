"""--restart, --log-opt and the health check as the monitor gets them: parsing, Docker's checks
and words, the merge with the image's HEALTHCHECK, and the flags through the CLI parser."""
import pytest

from dockyard.engine.cli.main import parse
from dockyard.engine.cli.runflags import run_options
from dockyard.engine.errors import InvalidArgument
from dockyard.engine.options import RunOptions
from dockyard.engine.runtime import bundle, monitor_options as mo
from dockyard.engine.runtime.spec import ContainerSpec, Healthcheck


@pytest.mark.parametrize("value, expected", [
    (None, ("no", 0)), ("no", ("no", 0)), ("always", ("always", 0)),
    ("unless-stopped", ("unless-stopped", 0)), ("on-failure", ("on-failure", 0)),
    ("on-failure:5", ("on-failure", 5)),
    ({"Name": "on-failure", "MaximumRetryCount": 2}, ("on-failure", 2)),
    ({"Name": "always"}, ("always", 0)),
])
def test_restart_policies(value, expected):
    assert mo.restart_policy(value) == expected


@pytest.mark.parametrize("value, message", [
    ("sometimes", "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', "
                  "'on-failure', or 'unless-stopped'"),
    ("always:3", "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
    ("no:-1", "maximum retry count can only be used with 'on-failure' and cannot be negative"),
    ("on-failure:-1", "invalid restart policy: maximum retry count cannot be negative"),
    ("on-failure:x", "invalid restart policy format: maximum retry count must be an integer"),
    (":3", "invalid restart policy format: no policy provided before colon"),
])
def test_bad_restart_policies_in_dockers_words(value, message):
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        mo.restart_policy(value)


def test_log_options():
    assert mo.log_config(None, None) == ("json-file", 0, 1)
    assert mo.log_config("json-file", {"max-size": "10m", "max-file": "3"}) == ("json-file", 10_000_000, 3)
    assert mo.log_config("json-file", {"max-size": "1.5k"}) == ("json-file", 1500, 1)
    assert mo.log_config("json-file", {"max-size": "-1"}) == ("json-file", 0, 1)
    assert mo.log_config("none", {}) == ("none", 0, 1)


@pytest.mark.parametrize("driver, opts, message", [
    ("json-file", {"max-size": "0"}, "max-size must be a positive number"),
    ("json-file", {"max-size": "ten"}, "invalid size: 'ten'"),
    ("json-file", {"max-file": "0"}, "max-file cannot be less than 1"),
    ("json-file", {"color": "red"}, "unknown log opt 'color' for json-file log driver"),
    ("none", {"max-size": "1m"}, "unknown log opt 'max-size' for none log driver"),
    ("syslog", {}, 'logging driver "syslog" is not supported here'),
    ("json-file", {"compress": "true"}, "compress"),
])
def test_bad_log_options(driver, opts, message):
    with pytest.raises(InvalidArgument, match=message):
        mo.log_config(driver, opts)


def test_health_flags_become_dockers_config():
    assert mo.health_config({"test": "curl -f localhost", "interval": "1m30s", "timeout": "500ms",
                             "retries": 2, "start_period": "2s"}) == {
        "Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 90_000_000_000,
        "Timeout": 500_000_000, "Retries": 2, "StartPeriod": 2_000_000_000}
    # docker-py's nanoseconds and Docker's own keys are taken as they are
    assert mo.health_config({"Test": ["CMD", "true"], "Interval": 1_000_000}) == {
        "Test": ["CMD", "true"], "Interval": 1_000_000}
    assert mo.health_config(None) is None


@pytest.mark.parametrize("given, message", [
    ({"interval": "10us"}, "Interval in Healthcheck cannot be less than 1ms"),
    ({"timeout": "-1s"}, "--health-timeout cannot be negative"),
    ({"retries": -1}, "--health-retries cannot be negative"),
    ({"start_period": "soon"}, 'invalid argument "soon" for "--health-start-period" flag: '
                               'time: invalid duration "soon"'),
    ({"color": 1}, "unknown healthcheck option: color"),
])
def test_bad_health_options(given, message):
    with pytest.raises(InvalidArgument, match=message):
        mo.health_config(given)


def test_user_health_fields_override_the_images_one_by_one():
    image = {"Test": ["CMD-SHELL", "check"], "Interval": 5, "Retries": 7}
    assert mo.merge_health(image, {"Interval": 9}) == {"Test": ["CMD-SHELL", "check"],
                                                       "Interval": 9, "Retries": 7}
    assert mo.merge_health(image, {"Test": ["CMD", "other"]})["Test"] == ["CMD", "other"]
    assert mo.merge_health(image, {"Test": ["NONE"]}) == {"Test": ["NONE"]}
    assert mo.merge_health(None, None) is None
    assert mo.healthcheck(mo.merge_health(image, {"Test": ["NONE"]})) is None
    assert mo.healthcheck(image) == Healthcheck(("CMD-SHELL", "check"), interval=5, retries=7)
    with pytest.raises(InvalidArgument, match="invalid healthcheck test"):
        mo.healthcheck({"Test": ["SHELL", "x"]})


def test_the_monitors_pairs():
    spec = ContainerSpec(id="c" * 64, bundle="/b", args=("true",), restart="on-failure",
                         restart_max=3, log_max_size=1000, log_max_file=2,
                         healthcheck=Healthcheck(("CMD", "true"), interval=7), console_size=(24, 80))
    assert bundle.monitor_pairs(spec) == [
        ("log_driver", "json-file"), ("restart", "on-failure"), ("restart_max", "3"),
        ("log_max_size", "1000"), ("log_max_file", "2"), ("health_test", "CMD"),
        ("health_test", "true"), ("health_interval", "7"), ("winsize", "24 80")]
    assert bundle.monitor_pairs(ContainerSpec(id="c" * 64, bundle="/b")) == [("log_driver", "json-file")]


def _options(*argv):
    return run_options(parse(["run", *argv, "busybox"]))


def test_the_cli_flags():
    options = _options("--restart", "on-failure:2", "--log-opt", "max-size=1k", "--log-opt",
                       "max-file=3", "--health-cmd", "true", "--health-interval", "2s",
                       "--health-retries", "4")
    assert options.restart_policy == "on-failure:2"
    assert options.log_opts == {"max-size": "1k", "max-file": "3"}
    assert options.healthcheck == {"test": ["CMD-SHELL", "true"], "interval": "2s", "retries": 4}
    assert _options("--no-healthcheck").healthcheck == {"test": ["NONE"]}
    assert _options().healthcheck is None


@pytest.mark.parametrize("argv, message", [
    (("--no-healthcheck", "--health-cmd", "true"), "--no-healthcheck conflicts with --health-\\* options"),
    (("--rm", "--restart", "always"), "conflicting options: cannot specify both --restart and --rm"),
    (("--log-opt", "max-size"), "invalid log opt 'max-size': KEY=VALUE expected"),
])
def test_cli_conflicts(argv, message):
    with pytest.raises(InvalidArgument, match=message):
        _options(*argv)


def test_docker_py_keywords():
    options = RunOptions.from_kwargs(image="busybox", restart_policy={"Name": "always"},
                                     log_config={"type": "json-file", "config": {"max-size": "1m"}},
                                     healthcheck={"test": ["CMD", "true"], "interval": 1_000_000_000})
    assert options.restart_policy == {"Name": "always"}
    assert (options.log_driver, options.log_opts) == ("json-file", {"max-size": "1m"})
    assert options.healthcheck["interval"] == 1_000_000_000
