"""Contract 9: GET /_ferry/metrics in Prometheus text format."""

import re

from util import client_error, http_request, wait_for

LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """[(name, {label: value}, float)] for every sample line."""
    samples = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = LINE.match(line.strip())
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = dict(LABEL.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def requests_total(ferry, **want):
    total = 0.0
    for name, labels, value in parse(ferry.metrics()):
        if name == "ferry_requests_total" and all(labels.get(k) == v for k, v in want.items()):
            total += value
    return total


GCI_OK = {"service": "sts", "action": "GetCallerIdentity", "status": "200"}


def test_metrics_endpoint_is_prometheus_text(ferry, operator):
    ferry.identity(operator)
    r = http_request(ferry.endpoint, "GET", "/_ferry/metrics")
    assert r.status == 200
    assert (r.header("Content-Type") or "").startswith("text/plain"), r.header("Content-Type")
    parse(r.text)  # every line parses


def test_requests_total_counts_calls_by_service_action_status(ferry, operator):
    sts = ferry.client("sts", operator)
    sts.get_caller_identity()
    wait_for(lambda: requests_total(ferry, **GCI_OK) >= 1, timeout=3,
             desc='ferry_requests_total{service="sts",action="GetCallerIdentity",status="200"}')
    before = requests_total(ferry, **GCI_OK)
    for _ in range(3):
        sts.get_caller_identity()
    wait_for(lambda: requests_total(ferry, **GCI_OK) >= before + 3, timeout=3,
             desc="the counter to grow by 3")


def test_failed_calls_are_counted_with_their_status(ferry, operator):
    with client_error("SignatureDoesNotMatch", 403):
        ferry.client("sts", operator.with_secret(operator.secret_access_key[::-1])).get_caller_identity()
    wait_for(lambda: requests_total(ferry, service="sts", status="403") >= 1, timeout=3,
             desc='a ferry_requests_total series with service="sts",status="403"')


def test_request_duration_histogram(ferry, operator):
    ferry.identity(operator)
    text = ferry.metrics()
    assert re.search(r"^# TYPE ferry_request_duration_seconds histogram\s*$", text, re.M), \
        "ferry_request_duration_seconds is not declared a histogram"
    samples = parse(text)
    buckets = [l for n, l, _ in samples if n == "ferry_request_duration_seconds_bucket"]
    assert buckets and all("le" in l for l in buckets)
    assert any(l["le"] == "+Inf" for l in buckets)
    counts = [v for n, _, v in samples if n == "ferry_request_duration_seconds_count"]
    assert counts and sum(counts) >= 1
    assert any(n == "ferry_request_duration_seconds_sum" for n, _, _ in samples)
