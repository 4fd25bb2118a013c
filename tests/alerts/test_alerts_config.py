"""``[alerts]``, ``[channels.NAME]``, ``[webhooks.NAME]`` and ``[monitors.alerts]`` through
``driftwatch validate`` (R39, R40): every problem one ``FILE[:LINE[:COL]]: dotted.key.path: message``
line, exit 2, and no secret in the output.

Each case is a valid base config (with a Slack token, an SMTP password, a webhook URL holding a
token and a ``whsec_`` secret, so every case also checks that none of them leaks) plus one bad
snippet appended at its end.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from driftwatch.alerts.channels import EmailChannel, LogChannel, SlackChannel, WebhookChannel
from driftwatch.alerts.channels.webhook import WebhookSubscription
from driftwatch.alerts.routing import channels_for
from driftwatch.cli import main
from driftwatch.config import load
from driftwatch.errors import ConfigError
from driftwatch.secrets import Secret

SLACK_TOKEN = "xoxb-CONFIG-slack-token-0001"
SMTP_PASSWORD = "smtp-CONFIG-password-0002"
HOOK_TOKEN = "HOOKT0K3N-CONFIG-0003"
SUB_TOKEN = "SUBT0K3N-CONFIG-0004"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LEAK_TOKEN = "LEAKT0K3N-CONFIG-0005"
SECRETS = (SLACK_TOKEN, SMTP_PASSWORD, HOOK_TOKEN, SUB_TOKEN, WHSEC, WHSEC.removeprefix("whsec_"), LEAK_TOKEN)

BASE = f"""\
[store]
url = "sqlite:///dw.db"

[channels.log]
type = "log"

[channels.slack]
type = "slack"
token = "{SLACK_TOKEN}"
channel = "#ml-alerts"

[channels.mail]
type = "email"
host = "smtp.example.com"
to = ["ops@example.com"]
sender = "driftwatch@example.com"
username = "dw"
password = "{SMTP_PASSWORD}"

[channels.hook]
type = "webhook"
url = "https://hooks.example.com/services/{HOOK_TOKEN}"
secret = "{WHSEC}"
format = "alertmanager"

[webhooks.retrain]
url = "https://ml.example.com/retrain/{SUB_TOKEN}"
secret = "{WHSEC}"
events = ["retrain.requested", "run.failed"]

[[monitors]]
name = "m1"
window = "1d"
[monitors.current]
type = "file"
path = "cur.csv"
[monitors.reference]
type = "file"
path = "ref.csv"
"""

PROBLEM = re.compile(r"^(?P<file>[^:]+\.toml)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: (?P<path>[A-Za-z0-9_.\[\]-]+): "
                     r"(?P<message>.+)$")


def write(tmp_path: Path, snippet: str = "") -> Path:
    path = tmp_path / "driftwatch.toml"
    path.write_text(BASE + "\n" + snippet, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    [number] = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return number


def validate(path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.delenv("NOPE", raising=False)
    code = main(["validate", "--config", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def problems(err: str) -> list[re.Match[str]]:
    lines = err.splitlines()
    matches = [PROBLEM.match(line) for line in lines]
    assert lines and all(matches), f"not FILE[:LINE[:COL]]: key.path: message lines:\n{err}"
    return [m for m in matches if m is not None]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret {secret[:8]}... printed"
    assert "Traceback" not in "".join(texts)


# (case id, snippet, dotted key path, message fragment, text on the line the problem should point at)
CASES = [
    ("R39-unknown-route-channel", '[monitors.alerts]\nroutes = [{channels = ["phantom"], severity = "alert"}]\n',
     "monitors[0].alerts.routes[0].channels[0]", "unknown channel 'phantom' (configured: hook, log, mail, slack)",
     "routes ="),
    ("R39-webhook-channel-url", f'[channels.x]\ntype = "webhook"\nurl = "https//hooks.example.com/{LEAK_TOKEN}"\n',
     "channels.x.url", "must be an http(s) URL with a host", "https//hooks"),
    ("R39-webhook-channel-ftp-url", f'[channels.x]\ntype = "webhook"\nurl = "ftp://hooks.example.com/{LEAK_TOKEN}"\n',
     "channels.x.url", "must be an http(s) URL with a host", "ftp://"),
    ("R39-subscription-url", f'[webhooks.y]\nurl = "http://:99999/{LEAK_TOKEN}"\nsecret = "{WHSEC}"\n',
     "webhooks.y.url", "must be an http(s) URL with a host", ":99999"),
    ("R39-missing-secret-variable", '[webhooks.y]\nurl = "https://ml.example.com/hook"\nsecret = "${NOPE}"\n',
     "webhooks.y.secret", "environment variable NOPE is not set", "${NOPE}"),
    ("R39-unknown-event-type",
     f'[webhooks.y]\nurl = "https://ml.example.com/hook"\nsecret = "{WHSEC}"\nevents = ["alert.exploded"]\n',
     "webhooks.y.events", "unknown event type 'alert.exploded'", "alert.exploded"),
    ("R39-unknown-subscription-monitor",
     f'[webhooks.y]\nurl = "https://ml.example.com/hook"\nsecret = "{WHSEC}"\nmonitors = ["m1", "ghost"]\n',
     "webhooks.y.monitors", "unknown monitor 'ghost' (configured: m1)", '"ghost"'),
    ("R39-for-runs-zero", "[alerts]\nfor_runs = 0\n", "alerts.for_runs", "must be an integer >= 1, got 0", "for_runs"),
    ("R39-monitor-for-runs-text", '[monitors.alerts]\nfor_runs = "three"\n', "monitors[0].alerts.for_runs",
     "must be an integer >= 1", "for_runs"),
    ("R39-no-data", '[alerts]\nno_data = "maybe"\n', "alerts.no_data",
     "must be one of keep_last, ok, alerting, got 'maybe'", "no_data"),
    ("R39-monitor-no-data", '[monitors.alerts]\nno_data = "sometimes"\n', "monitors[0].alerts.no_data",
     "must be one of keep_last, ok, alerting", "no_data"),
    ("R39-repeat-interval", '[alerts]\nrepeat_interval = "1.5h"\n', "alerts.repeat_interval",
     "invalid duration '1.5h'", "repeat_interval"),
    ("R39-monitor-repeat-interval", "[monitors.alerts]\nrepeat_interval = 5\n", "monitors[0].alerts.repeat_interval",
     "must be a duration string", "repeat_interval"),
    ("R39-base-url", '[alerts]\nbase_url = "dw.example.com"\n', "alerts.base_url", "must be an http(s) URL",
     "base_url"),
    ("R39-delivery-deadline", '[alerts]\ndelivery_deadline = "forever"\n', "alerts.delivery_deadline",
     "invalid duration 'forever'", "delivery_deadline"),
    ("R39-route-severity", '[monitors.alerts]\nroutes = [{channels = ["log"], severity = "critical"}]\n',
     "monitors[0].alerts.routes[0].severity", "must be one of warn, alert", "routes ="),
    ("R39-channel-type", '[channels.x]\ntype = "pigeon"\n', "channels.x.type", "unknown type 'pigeon'", "pigeon"),
    ("R40-slack-unknown-key", f'[channels.x]\ntype = "slack"\ntoken = "{LEAK_TOKEN}"\nchannel = "#a"\ncolour = "red"\n',
     "channels.x.colour", "unknown key (valid: base_url, channel, timeout, token, type, webhook_url)", "colour"),
    ("R40-slack-plain-http-webhook", f'[channels.x]\ntype = "slack"\nwebhook_url = "http://hooks.slack.com/{LEAK_TOKEN}"\n',
     "channels.x.webhook_url", "must be an https URL", "webhook_url"),
    ("R40-email-password-in-clear", f'[channels.x]\ntype = "email"\nhost = "smtp.example.com"\nto = ["a@example.com"]\n'
     f'sender = "dw@example.com"\ntls = "none"\nusername = "u"\npassword = "{LEAK_TOKEN}"\n',
     "channels.x.username", 'login needs tls = "starttls" or "ssl"', 'username = "u"'),
    ("R40-bad-whsec", f'[webhooks.y]\nurl = "https://ml.example.com/{LEAK_TOKEN}"\nsecret = "whsec_{LEAK_TOKEN}!"\n',
     "webhooks.y.secret", "must be base64 after the whsec_ prefix", f"whsec_{LEAK_TOKEN}"),
]


@pytest.mark.parametrize(("snippet", "key_path", "fragment", "needle"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_R39_R40_validate_names_file_line_and_key_path_exits_2_and_prints_no_secret(
        snippet: str, key_path: str, fragment: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, snippet)
    code, out, err = validate(path, capsys, monkeypatch)
    assert code == 2 and out == ""
    found = problems(err)
    assert [m["path"] for m in found] == [key_path], err
    [problem] = found
    assert problem["file"] == str(path)
    assert fragment in problem["message"]
    assert problem["line"] is not None and int(problem["line"]) == line_of(path, needle)
    assert_no_secret(out, err)


def test_R39_unknown_channel_in_alerts_channels_is_reported_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[alerts]\nchannels = ["log", "nosuch"]\n')
    code, out, err = validate(path, capsys, monkeypatch)
    assert code == 2
    found = problems(err)
    assert any(m["path"].startswith("alerts.") and "unknown channel 'nosuch'" in m["message"] for m in found), err
    assert all("'log'" not in m["message"].split("(")[0] for m in found)  # a configured name is not reported
    assert_no_secret(out, err)


@pytest.mark.parametrize(("snippet", "key_path"), [
    ('[alerts]\nchannels = ["log", "nosuch"]\n', "alerts.channels[1]"),
    ('[monitors.alerts]\nchannels = ["log", "nosuch"]\n', "monitors[0].alerts.channels[1]"),
], ids=["alerts", "monitors.alerts"])
def test_R39_unknown_channel_in_channels_is_reported_once_at_its_list_item(
        snippet: str, key_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, snippet)
    code, _, err = validate(path, capsys, monkeypatch)
    assert code == 2
    [problem] = problems(err)
    assert problem["path"] == key_path and "unknown channel 'nosuch'" in problem["message"]
    assert int(problem["line"]) == line_of(path, '"nosuch"')


def test_R39_a_subscription_naming_a_monitor_that_has_another_problem_gets_no_second_false_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, f'[monitors.alerts]\nfor_runs = 0\n\n[webhooks.audit]\nurl = "https://a.example.com/h"\n'
                           f'secret = "{WHSEC}"\nmonitors = ["m1"]\n')
    code, _, err = validate(path, capsys, monkeypatch)
    assert code == 2
    assert [m["path"] for m in problems(err)] == ["monitors[0].alerts.for_runs"]


def test_R39_several_problems_are_all_reported_each_on_its_own_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, f'[alerts]\nfor_runs = 0\n\n[channels.x]\ntype = "webhook"\nurl = "nope/{LEAK_TOKEN}"\n\n'
                           f'[webhooks.y]\nurl = "https://ml.example.com/h"\nsecret = "{WHSEC}"\nmonitors = ["ghost"]\n')
    code, out, err = validate(path, capsys, monkeypatch)
    assert code == 2
    assert sorted(m["path"] for m in problems(err)) == ["alerts.for_runs", "channels.x.url", "webhooks.y.monitors"]
    assert_no_secret(out, err)


def test_R39_a_valid_config_with_every_channel_kind_builds_them_and_validate_exits_0(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[alerts]\nbase_url = "https://dw.example.com/"\ndelivery_deadline = "12h"\n'
                           'routes = [{channels = ["slack", "mail"], severity = "alert"}, {channels = ["log", "hook"]}]\n'
                           f'[webhooks.audit]\nurl = "https://audit.example.com/{SUB_TOKEN}"\nsecret = "{WHSEC}"\n'
                           'monitors = ["m1"]\n')
    code, out, err = validate(path, capsys, monkeypatch)
    assert (code, err) == (0, "")
    assert out.strip() == f"{path}: ok (1 monitor)"

    settings = load(path, environ={})
    assert sorted(settings.channels) == ["hook", "log", "mail", "slack"]
    slack, mail, hook, log = (settings.channels[n] for n in ("slack", "mail", "hook", "log"))
    assert isinstance(slack, SlackChannel) and isinstance(slack.token, Secret)
    assert slack.token.reveal() == SLACK_TOKEN and slack.channel == "#ml-alerts"
    assert isinstance(mail, EmailChannel) and mail.to == ("ops@example.com",) and mail.port == 587
    assert isinstance(mail.password, Secret) and mail.password.reveal() == SMTP_PASSWORD
    assert isinstance(hook, WebhookChannel) and hook.format == "alertmanager"
    assert hook.url.reveal().endswith(HOOK_TOKEN)
    assert isinstance(log, LogChannel)
    assert sorted(settings.webhooks) == ["audit", "retrain"]
    sub, audit = settings.webhooks["retrain"], settings.webhooks["audit"]
    assert isinstance(sub, WebhookSubscription) and isinstance(audit, WebhookSubscription)
    assert sub.events == ("retrain.requested", "run.failed") and sub.monitors == ()
    assert sub.wants("run.failed", "m1") and not sub.wants("alert.firing", "m1")
    assert audit.monitors == ("m1",) and audit.wants("alert.firing", "m1") and not audit.wants("alert.firing", "m2")
    assert sub.secrets() == [WHSEC] and sub.url.reveal().endswith(SUB_TOKEN)
    assert settings.alerts.base_url == "https://dw.example.com"
    assert settings.alerts.delivery_deadline.total_seconds() == 12 * 3600  # type: ignore[union-attr]
    assert settings.alerts.report_url(7) == "https://dw.example.com/runs/7"
    policy = settings.monitor("m1").alerts
    assert channels_for(policy.routes, "alert") == ("slack", "mail", "log", "hook")
    assert channels_for(policy.routes, "warn") == ("log", "hook")
    assert_no_secret(repr(settings.channels), repr(settings.webhooks), out)


def test_R39_driftwatch_run_refuses_to_start_with_an_invalid_alerts_config(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from driftwatch.scheduler import Daemon

    path = write(tmp_path, '[webhooks.y]\nurl = "https://ml.example.com/hook"\nsecret = "${NOPE}"\n')
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(ConfigError) as caught:
        Daemon(path)
    assert caught.value.problems == [f"{path}:{line_of(path, '${NOPE}')}: webhooks.y.secret: environment variable "
                                     "NOPE is not set (give a default with ${NOPE:-default})"]
    assert main(["run", "--config", str(path), "--no-web"]) == 2
    out, err = capsys.readouterr()
    assert [m["path"] for m in problems(err)] == ["webhooks.y.secret"]
    assert not (tmp_path / "dw.db").exists()  # nothing started, not even the store
    assert_no_secret(out, err)


def test_a_send_that_may_outlive_its_outbox_lease_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[daemon]\nlease = "10s"\n[channels.slowhook]\ntype = "webhook"\n'
                           'url = "https://hooks.example.com/x"\ntimeout = 30\n')
    code, out, err = validate(path, capsys, monkeypatch)
    assert code == 0 and "ok" in out
    [line] = [text for text in err.strip().splitlines() if "slowhook" in text]
    assert line.endswith("channels.slowhook.timeout: warning: 30 s is not shorter than daemon.lease (0:00:10): another "
                         "replica may send a message again while it is being sent")


def test_R39_validate_connects_to_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A config whose store, SQL source, channels and webhooks all live on other hosts validates
    without one socket connecting or one name being looked up."""
    import socket

    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError(f"validate must not use the network: {name}")
        return call

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    remote = (BASE.replace('url = "sqlite:///dw.db"', 'url = "postgresql+psycopg://dw:pw@db.example.com:5432/dw"')
              .replace('[monitors.current]\ntype = "file"\npath = "cur.csv"',
                       '[monitors.current]\ntype = "sql"\nurl = "postgresql+psycopg://ro@warehouse.example.com/ml"\n'
                       'table = "predictions"\ntimestamp_column = "ts"'))
    path = tmp_path / "driftwatch.toml"
    path.write_text(remote, encoding="utf-8")
    assert main(["validate", "--config", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok (1 monitor)"
    assert attempts == []
    with pytest.raises(OSError, match="must not use the network"):  # the trap is armed
        socket.create_connection(("db.example.com", 5432))
    assert attempts == ["create_connection(('db.example.com', 5432),)"]
