/** The address policy: one table for IPv4 and IPv6, IPv6 forms that carry an IPv4 address judged as it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyIp, ipv6Groups, isMetadataIp, refusal } from '../../../../functions/security/address-policy.js';

describe('address policy', () => {
  // address, label
  const table: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['192.0.0.8', 'IETF protocol'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['fec0::1', 'site-local'],
    ['100::1', 'discard-only'],
    ['64:ff9b:1::1', 'local NAT64'],
    ['::7f00:1', 'IPv4-compatible'],
    ['fd00:ec2::254', 'metadata'],
    // IPv6 forms that carry an IPv4 address: judged as that address.
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::FFFF:A9FE:A9FE', 'metadata'],
    ['::ffff:a00:1', 'private'],
    ['::ffff:0:a9fe:a9fe', 'metadata'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'metadata'],
    // Public.
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['172.15.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['169.253.0.1', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::808:808', 'public'],
    ['2002:808:808::1', 'public'],
  ];
  for (const [ip, label] of table) {
    test(`${ip}: ${label}`, () => {
      const c = classifyIp(ip);
      assert.ok(c, 'classified');
      assert.equal(c.label, label);
      assert.equal(c.private, label !== 'public');
      assert.equal(c.metadata, label === 'metadata');
    });
  }

  test('metadata is refused even when private addresses are fine; other private ranges only then', () => {
    assert.match(refusal('169.254.169.254', true)!, /cloud metadata/);
    assert.match(
      refusal('::ffff:a9fe:a9fe', true)!,
      /^::ffff:a9fe:a9fe \(169\.254\.169\.254\) is a cloud metadata address$/,
    );
    assert.equal(refusal('127.0.0.1', true), undefined);
    assert.equal(refusal('127.0.0.1', false), '127.0.0.1 is a private address (loopback)');
    assert.equal(refusal('8.8.8.8', false), undefined);
    assert.equal(refusal('not-an-ip', true), 'not-an-ip is not an IP address');
    assert.equal(isMetadataIp('64:ff9b::a9fe:a9fe'), true);
    assert.equal(isMetadataIp('169.254.169.253'), false);
  });

  test('IPv6 groups, every spelling', () => {
    const one = [0, 0, 0, 0, 0, 0, 0, 1];
    for (const s of ['::1', '0:0::1', '::0:1', '0:0:0:0:0:0:0:1', '0000:0000::0001'])
      assert.deepEqual(ipv6Groups(s), one, s);
    assert.deepEqual(ipv6Groups('::ffff:127.0.0.1'), [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', '::1.2.3', ':::', '1:2:3:4:5:6:7'])
      assert.equal(ipv6Groups(bad), undefined, bad);
  });
});
