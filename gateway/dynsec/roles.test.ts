import { describe, expect, it } from 'vitest';
import { deviceAcls, roleCommands, workerAcls } from './roles.js';

describe('dynamic-security roles', () => {
  it("allows a device exactly its own topics, from the one topic list", () => {
    expect(deviceAcls('rpm/v1', 'cuff-7')).toEqual([
      { acltype: 'publishClientSend', topic: 'rpm/v1/devices/cuff-7/readings', allow: true },
      { acltype: 'publishClientSend', topic: 'rpm/v1/devices/cuff-7/senml', allow: true },
      { acltype: 'publishClientSend', topic: 'rpm/v1/devices/cuff-7/status', allow: true },
      { acltype: 'subscribeLiteral', topic: 'rpm/v1/devices/cuff-7/errors', allow: true },
    ]);
  });

  it('lets a hub also read its inbox and publish its replies', () => {
    expect(deviceAcls('rpm/v1', 'hub-1', 'hub')).toEqual(
      expect.arrayContaining([
        { acltype: 'publishClientSend', topic: 'rpm/v1/devices/hub-1/replies', allow: true },
        { acltype: 'subscribeLiteral', topic: 'rpm/v1/devices/hub-1/inbox', allow: true },
      ]),
    );
    expect(deviceAcls('rpm/v1', 'cuff-7').map((a) => a.topic)).not.toContain('rpm/v1/devices/cuff-7/inbox');
  });

  it("names the worker's group in its shared subscriptions, as Mosquitto 2.0 checks them", () => {
    expect(workerAcls('rpm/v1', 'g1')).toEqual([
      { acltype: 'subscribePattern', topic: '$share/g1/rpm/v1/devices/+/readings', allow: true },
      { acltype: 'subscribePattern', topic: '$share/g1/rpm/v1/devices/+/senml', allow: true },
      { acltype: 'subscribePattern', topic: '$share/g1/rpm/v1/devices/+/status', allow: true },
      { acltype: 'subscribePattern', topic: '$share/g1/rpm/v1/devices/+/replies', allow: true },
      { acltype: 'publishClientSend', topic: 'rpm/v1/devices/+/errors', allow: true },
      { acltype: 'publishClientSend', topic: 'rpm/v1/devices/+/inbox', allow: true },
    ]);
  });

  it('creates a missing role, leaves a right one alone, and corrects one that differs by the differences only', () => {
    const want = deviceAcls('rpm/v1', 'd1');
    expect(roleCommands('r', want, undefined)).toEqual([{ command: 'createRole', rolename: 'r', textname: 'managed by Vigil', acls: want.map((a) => ({ ...a, priority: 0 })) }]);
    // As the plugin lists a role: with priorities, in its own order.
    expect(roleCommands('r', want, { rolename: 'r', acls: [...want].reverse().map((a) => ({ ...a, priority: 0 })) })).toEqual([]);
    const stale = [want[0]!, { acltype: 'publishClientSend', topic: 'rpm/v1/devices/d1/old', allow: true, priority: 0 }];
    expect(roleCommands('r', want, { rolename: 'r', acls: stale })).toEqual([
      { command: 'removeRoleACL', rolename: 'r', acltype: 'publishClientSend', topic: 'rpm/v1/devices/d1/old' },
      { command: 'addRoleACL', rolename: 'r', ...want[1], priority: 0 },
      { command: 'addRoleACL', rolename: 'r', ...want[2], priority: 0 },
      { command: 'addRoleACL', rolename: 'r', ...want[3], priority: 0 },
    ]);
  });
});
