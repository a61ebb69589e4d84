# -*- coding: utf-8 -*-
# Copyright: eidb authors
# Apache License 2.0 (see the repository's LICENSE)
"""What the eidb modules share: build the command line, run the binary, read its JSON report.

The modules pass no password on the command line or in their arguments: eidb reads the passwords from
the environment variables (or files) the spec names, which the play sets with `environment:`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def command(module, subcommand, dry_run=False):
    """The eidb command line for the module's options."""
    params = module.params
    cmd = [params['eidb_path'], subcommand, '--config', params['config'], '--output', 'json']
    for node in params.get('node') or []:
        cmd.extend(['--node', node])
    if params.get('db_only'):
        cmd.append('--db-only')
    if params.get('files_only'):
        cmd.append('--files-only')
    if params.get('allow_destructive'):
        cmd.append('--allow-destructive')
    if dry_run:
        cmd.extend(['--dry-run', '--detailed-exitcode'])
    return cmd


def run(module, cmd):
    """Run eidb; returns (rc, report or None, stderr)."""
    rc, out, err = module.run_command(cmd, check_rc=False)
    report = None
    if out.strip():
        try:
            report = json.loads(out)
        except ValueError:
            report = None
    return rc, report, err


def failure_message(report, err, rc):
    """eidb's own words for a failed run: the report's error (with its hint), else its stderr."""
    if report and report.get('error'):
        error = report['error']
        message = error.get('message') or ''
        if error.get('hint'):
            message += ' (hint: %s)' % error['hint']
        return message
    lines = [line for line in (err or '').splitlines() if line.strip()]
    errors = [line for line in lines if 'error' in line]
    return (errors or lines or ['eidb exited with %d' % rc])[-1]


def summaries(changes):
    return [change.get('summary', '') for change in changes or []]


def file_diffs(changes):
    """One Ansible diff entry per node file, from eidb's unified diff (passwords already masked by eidb):
    `before` holds the hunks' old lines, `after` their new ones, each hunk headed by its @@ line."""
    diffs = []
    for change in changes or []:
        # The typed change is flattened into the report's entry: `change` names its kind.
        if change.get('change') != 'edit_file':
            continue
        inner = change
        path = inner.get('file', '')
        before, after = [], []
        for line in (inner.get('diff') or '').splitlines():
            if line.startswith('---') or line.startswith('+++'):
                continue
            if line.startswith('@@'):
                before.append(line)
                after.append(line)
            elif line.startswith('-'):
                before.append(line[1:])
            elif line.startswith('+'):
                after.append(line[1:])
            else:
                before.append(line[1:])
                after.append(line[1:])
        mode = inner.get('mode')
        if mode:
            before.append('# mode %s' % mode.get('from'))
            after.append('# mode %s' % mode.get('to'))
        diffs.append({
            'before_header': '%s (node %s, now)' % (path, inner.get('node', '')),
            'after_header': '%s (node %s, as eidb writes it)' % (path, inner.get('node', '')),
            'before': '\n'.join(before) + '\n',
            'after': '\n'.join(after) + '\n',
        })
    return diffs
