#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: eidb authors
# Apache License 2.0 (see the repository's LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: provision
short_description: Provision a WSO2 EI 6.x cluster's databases and node files with eidb
version_added: "0.1.0"
description:
  - Runs C(eidb provision) on the target host, a thin wrapper over the binary; eidb plans and applies, the
    module passes options and reads eidb's JSON report (C(--output json)).
  - The database part runs once per cluster (I(db_only), e.g. with C(run_once) or on the DBA's host); the
    node part runs on each node's host for that node (I(node) with I(files_only)), one host at a time
    (C(serial) of 1); several nodes starting at once against empty databases is a known Carbon race.
  - Passwords are never module options. eidb reads them from the environment variables (or files) the spec
    names (C(password_env)/C(password_file)); set them with the task's or play's C(environment:) keyword,
    e.g. from Ansible Vault. Nothing the module returns holds a password (eidb masks them in diffs).
  - Check mode runs C(eidb provision --dry-run --detailed-exitcode) and changes nothing; diff mode returns
    each node file's diff (one entry per file, passwords masked).
  - I(changed) comes from eidb's report (the changes it applied). Destructive changes eidb held back
    (exit 3, without I(allow_destructive)) are returned in I(held_back) and warned about; the task does
    not fail. Exit codes 1 (failure, conflict) and 2 (bad input) fail the task with eidb's message.
  - Each node run records what it applied in the database (with the nodes' account), so that
    M(eidb.wso2.verify) on a machine without the nodes' EI_HOMEs can tell which nodes run the current spec.
options:
  config:
    description: Path of the cluster spec (TOML) on the target host.
    type: path
    required: true
  node:
    description:
      - The spec's node (its C([[nodes]]) C(name)) whose files this host holds. Several may be given.
      - Without it eidb works on every node of the spec and refuses (exit 2) a host that holds only some
        of the nodes' EI_HOMEs.
    type: list
    elements: str
  db_only:
    description: Only the database part (databases, dbscript, account, grants). Needs the admin password.
    type: bool
    default: false
  files_only:
    description: Only the node files. Needs the account's password, not the admin's.
    type: bool
    default: false
  allow_destructive:
    description: Also apply destructive changes (revokes, password resets, repointing a node).
    type: bool
    default: false
  eidb_path:
    description: The eidb binary on the target host.
    type: str
    default: eidb
notes:
  - Supports check mode and diff mode.
requirements:
  - eidb on the target host (I(eidb_path)).
author:
  - eidb authors
'''

EXAMPLES = r'''
- name: Databases, account and grants, once for the cluster
  eidb.wso2.provision:
    config: /etc/eidb/cluster.toml
    db_only: true
  run_once: true
  environment:
    EIDB_ADMIN_PASSWORD: "{{ vault_eidb_admin_password }}"
    EIDB_ACCOUNT_PASSWORD: "{{ vault_eidb_account_password }}"

- name: This host's node files
  eidb.wso2.provision:
    config: /etc/eidb/cluster.toml
    node: "{{ eidb_node }}"
    files_only: true
  environment:
    EIDB_ACCOUNT_PASSWORD: "{{ vault_eidb_account_password }}"
'''

RETURN = r'''
status:
  description: eidb's status (changed, unchanged, planned, held_back).
  returned: always
  type: str
  sample: changed
changes:
  description: What eidb applied (or, in check mode, would apply), one line each.
  returned: always
  type: list
  elements: str
held_back:
  description: Destructive changes eidb held back (rerun with I(allow_destructive) after review).
  returned: always
  type: list
  elements: str
warnings_from_eidb:
  description: eidb's warnings.
  returned: always
  type: list
  elements: str
exit_code:
  description: eidb's exit code.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.eidb.wso2.plugins.module_utils.eidb import (
    command, failure_message, file_diffs, run, summaries)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type='path', required=True),
            node=dict(type='list', elements='str'),
            db_only=dict(type='bool', default=False),
            files_only=dict(type='bool', default=False),
            allow_destructive=dict(type='bool', default=False),
            eidb_path=dict(type='str', default='eidb'),
        ),
        mutually_exclusive=[('db_only', 'files_only'), ('db_only', 'node')],
        supports_check_mode=True,
    )
    rc, report, err = run(module, command(module, 'provision', dry_run=module.check_mode))
    if rc not in (0, 3, 4) or report is None:
        module.fail_json(msg='eidb provision failed: %s' % failure_message(report, err, rc), exit_code=rc,
                         status=(report or {}).get('status'))
    changes = report.get('changes') or []
    held_back = report.get('held_back') or []
    for line in summaries(held_back):
        module.warn('held back (destructive, rerun with allow_destructive after review): %s' % line)
    result = dict(
        changed=bool(changes) or rc == 4,
        status=report.get('status'),
        changes=summaries(changes),
        held_back=summaries(held_back),
        warnings_from_eidb=report.get('warnings') or [],
        exit_code=rc,
    )
    if module._diff:
        result['diff'] = file_diffs(changes)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
