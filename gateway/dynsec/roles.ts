import { deviceAcl, workerAcl, type DeviceAclKind } from '../../domain/index.js';
import type { DynsecCommand } from './control.js';

/** Vigil owns the broker's roles (and their clients) whose names start so; it leaves every other alone. */
export const DEVICE_ROLE_PREFIX = 'vigil-device-';
export const WORKER_ROLE = 'vigil-worker';
export const deviceRole = (deviceId: string): string => `${DEVICE_ROLE_PREFIX}${deviceId}`;

/** A dynamic-security ACL entry as the plugin lists it. */
export interface DynsecAcl {
  readonly acltype: string;
  readonly topic: string;
  readonly allow?: boolean;
  readonly priority?: number;
}

export interface DynsecRole {
  readonly rolename: string;
  readonly acls?: readonly DynsecAcl[];
}

/**
 * A device's role: publish exactly its own readings and status topics (the last will included), subscribe exactly
 * to its own errors topic (a literal subscription: `subscribeLiteral` refuses wildcards such as `.../+/errors`).
 * Anything else is refused by the plugin's defaults (`publishClientSend` and `subscribe` denied).
 */
export function deviceAcls(prefix: string, deviceId: string, kind: DeviceAclKind = 'device'): DynsecAcl[] {
  const acl = deviceAcl(prefix, deviceId, kind);
  return [
    ...acl.publish.map((topic) => ({ acltype: 'publishClientSend', topic, allow: true })),
    ...acl.subscribe.map((topic) => ({ acltype: 'subscribeLiteral', topic, allow: true })),
  ];
}

/**
 * A worker's role. Mosquitto 2.0 checks a shared subscription's ACL with its `$share/<group>/` prefix, so the
 * pattern names the group.
 */
export function workerAcls(prefix: string, shareGroup: string): DynsecAcl[] {
  const acl = workerAcl(prefix, shareGroup);
  return [
    ...acl.subscribe.map((topic) => ({ acltype: 'subscribePattern', topic, allow: true })),
    ...acl.publish.map((topic) => ({ acltype: 'publishClientSend', topic, allow: true })),
  ];
}

const key = (a: DynsecAcl) => `${a.acltype} ${a.topic} ${a.allow !== false}`;

/** The commands that make a role hold exactly these ACLs: create it, or add and remove the differences. */
export function roleCommands(rolename: string, want: readonly DynsecAcl[], have: DynsecRole | undefined): DynsecCommand[] {
  if (!have) return [{ command: 'createRole', rolename, textname: 'managed by Vigil', acls: want.map((a) => ({ ...a, priority: 0 })) }];
  const wanted = new Set(want.map(key));
  const present = new Set((have.acls ?? []).map(key));
  return [
    ...(have.acls ?? []).filter((a) => !wanted.has(key(a))).map((a) => ({ command: 'removeRoleACL', rolename, acltype: a.acltype, topic: a.topic })),
    ...want.filter((a) => !present.has(key(a))).map((a) => ({ command: 'addRoleACL', rolename, ...a, priority: 0 })),
  ];
}
