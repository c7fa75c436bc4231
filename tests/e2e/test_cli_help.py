"""`ferry --help` and `ferry serve --help` (no server needed)."""

import re
import subprocess

import pytest

SERVE_FLAGS = ["--data-dir", "--listen", "--sftp-listen", "--store", "--blobs", "--domain"]


def run_help(ferry_bin, *args):
    p = subprocess.run([str(ferry_bin), *args], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"ferry {' '.join(args)} exited {p.returncode}: {p.stderr}"
    return p.stdout + p.stderr


def test_top_level_help_lists_subcommands(ferry_bin):
    out = run_help(ferry_bin, "--help")
    for sub in ("serve", "account"):
        assert re.search(rf"^\s*{sub}\b", out, re.M), f"`ferry --help` does not mention `{sub}`:\n{out}"


@pytest.mark.parametrize("flag", SERVE_FLAGS)
def test_serve_help_mentions_flag(ferry_bin, flag):
    out = run_help(ferry_bin, "serve", "--help")
    # whole flag only: "--listen" must not be satisfied by "--sftp-listen"
    assert re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", out), f"`ferry serve --help` does not mention {flag}:\n{out}"


def test_account_help_lists_create_list_key(ferry_bin):
    out = run_help(ferry_bin, "account", "--help")
    for sub in ("create", "list", "key"):
        assert re.search(rf"^\s*{sub}\b", out, re.M), f"`ferry account --help` does not mention `{sub}`:\n{out}"
