#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: eidb authors
# Apache License 2.0 (see the repository's LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: verify
short_description: Check a WSO2 EI 6.x cluster against its eidb spec, changing nothing
version_added: "0.1.0"
description:
  - Runs C(eidb verify) on the target host and returns its findings. Never changes anything, never reports
    changed.
  - On a node's host, with I(node), it checks that node's files (and, without I(files_only), the database).
  - On a host that holds none of the nodes' EI_HOMEs (the DBA's), it checks the database and reads what each
    node run recorded there; a node that did not apply the current spec is a finding.
  - Fails the host on drift (eidb exit 1) and on trouble (exit 2, bad input or server unreachable), with
    eidb's message. Passwords come from the environment (C(environment:)), never from module options.
options:
  config:
    description: Path of the cluster spec (TOML) on the target host.
    type: path
    required: true
  node:
    description: The spec's node(s) whose files this host holds.
    type: list
    elements: str
  db_only:
    description: Only the database part.
    type: bool
    default: false
  files_only:
    description: Only the node files.
    type: bool
    default: false
  eidb_path:
    description: The eidb binary on the target host.
    type: str
    default: eidb
notes:
  - Supports check mode (it only reads).
author:
  - eidb authors
'''

EXAMPLES = r'''
- name: This node's files are as the spec says
  eidb.wso2.verify:
    config: /etc/eidb/cluster.toml
    node: "{{ eidb_node }}"
    files_only: true
  environment:
    EIDB_ACCOUNT_PASSWORD: "{{ vault_eidb_account_password }}"

- name: The whole cluster, from the DBA's machine (the nodes' records in the database)
  eidb.wso2.verify:
    config: /etc/eidb/cluster.toml
  delegate_to: dba.example.com
  run_once: true
  environment:
    EIDB_ADMIN_PASSWORD: "{{ vault_eidb_admin_password }}"
    EIDB_ACCOUNT_PASSWORD: "{{ vault_eidb_account_password }}"
'''

RETURN = r'''
findings:
  description: eidb's findings (subject, check, expected, found, fix); empty when in sync.
  returned: always
  type: list
  elements: dict
status:
  description: in_sync or drift.
  returned: when eidb ran
  type: str
exit_code:
  description: eidb's exit code (0 in sync, 1 drift, 2 trouble).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.eidb.wso2.plugins.module_utils.eidb import command, failure_message, run


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type='path', required=True),
            node=dict(type='list', elements='str'),
            db_only=dict(type='bool', default=False),
            files_only=dict(type='bool', default=False),
            eidb_path=dict(type='str', default='eidb'),
        ),
        mutually_exclusive=[('db_only', 'files_only'), ('db_only', 'node')],
        supports_check_mode=True,
    )
    rc, report, err = run(module, command(module, 'verify'))
    findings = (report or {}).get('findings') or []
    warnings = (report or {}).get('warnings') or []
    if rc == 1:
        lines = ['%s: %s' % (f.get('subject'), f.get('check')) for f in findings]
        module.fail_json(msg='drift: %d finding(s): %s' % (len(findings), '; '.join(lines)),
                         findings=findings, warnings_from_eidb=warnings, exit_code=rc, changed=False,
                         status=(report or {}).get('status'))
    if rc != 0 or report is None:
        module.fail_json(msg='eidb verify could not check: %s' % failure_message(report, err, rc),
                         findings=findings, exit_code=rc, changed=False)
    module.exit_json(changed=False, findings=findings, warnings_from_eidb=warnings, exit_code=rc,
                     status=report.get('status'))


if __name__ == '__main__':
    main()
