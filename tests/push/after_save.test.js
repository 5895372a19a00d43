// The OpenAir form script against a fake NSOA object; run by `node --test` (tests/push/test_after_save_js.py).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');

const script = require(path.join(__dirname, '..', '..', 'form_script', 'after_save.js'));

const PARAMS = { PushUrl: 'https://sync.example.net/api/openair/changed', PushSecret: 's3cret-ü', FunctionKey: 'fk-1' };

function fakeNsoa({ record, params = PARAMS, post } = {}) {
  const calls = { posts: [], logs: [] };
  global.NSOA = {
    form: { getNewRecord: () => (typeof record === 'function' ? record() : record) },
    context: { getParameter: (name) => params[name] },
    https: {
      post: (request) => {
        calls.posts.push(request);
        return post ? post(request) : { code: '202', body: '{"accepted":true}', headers: {} };
      },
    },
    meta: { log: (severity, message) => { calls.logs.push([severity, message]); return true; } },
  };
  return calls;
}

function nodeHmac(key, body) {
  return crypto.createHmac('sha256', Buffer.from(key, 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex');
}

test('SHA-256 matches node:crypto on block boundaries and non-ASCII text', () => {
  for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 1000]) {
    const text = 'a€𝄞'.repeat(length).slice(0, length);
    const ours = Buffer.from(script.sha256Bytes(script.utf8Bytes(text))).toString('hex');
    assert.equal(ours, crypto.createHash('sha256').update(text, 'utf8').digest('hex'), `length ${length}`);
  }
});

test('HMAC-SHA256 matches node:crypto, including keys longer than a block', () => {
  const keys = ['', 'k', 'x'.repeat(64), 'y'.repeat(65), 'long key ü '.repeat(20)];
  for (const key of keys) {
    for (const body of ['', '{"type":"Booking","id":"1","user_id":"2","timestamp":3}', 'é'.repeat(300)]) {
      assert.equal(script.hmacSha256Hex(key, body), nodeHmac(key, body));
    }
  }
  // RFC 4231 test case 2
  assert.equal(
    script.hmacSha256Hex('Jefe', 'what do ya want for nothing?'),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
});

test('a saved booking is posted with the right body, headers and signature', () => {
  const calls = fakeNsoa({ record: { id: 123, userid: 45, booking_typeid: 7, startdate: '2026-11-23' } });
  const before = Math.floor(Date.now() / 1000);
  script.afterSaveBooking('update');
  assert.equal(calls.posts.length, 1);
  const request = calls.posts[0];
  assert.equal(request.url, PARAMS.PushUrl);
  assert.equal(typeof request.body, 'string');
  const body = JSON.parse(request.body);
  assert.deepEqual(Object.keys(body), ['type', 'id', 'user_id', 'timestamp']);
  assert.equal(body.type, 'Booking');
  assert.equal(body.id, '123');
  assert.equal(body.user_id, '45');
  assert.ok(body.timestamp >= before && body.timestamp <= before + 2);
  assert.equal(request.headers['Content-Type'], 'application/json');
  assert.equal(request.headers['x-functions-key'], 'fk-1');
  assert.equal(request.headers['X-OpenAir-Signature'], 'sha256=' + nodeHmac(PARAMS.PushSecret, request.body));
  assert.deepEqual(calls.logs, []);
});

test('task assignments and schedule requests carry their own type names', () => {
  let calls = fakeNsoa({ record: { id: '9', userid: '4', projecttaskid: '3', planned_hours: 16 } });
  script.afterSaveTaskAssignment();
  assert.equal(JSON.parse(calls.posts[0].body).type, 'Projecttaskassign');
  calls = fakeNsoa({ record: { id: '6', userid: '4', timetypeid: '1', startdate: '2026-12-01' } });
  script.afterSaveScheduleRequest();
  assert.equal(JSON.parse(calls.posts[0].body).type, 'Schedulerequest');
});

test('the task, project and customer the record names ride along, so the product reads them with the record', () => {
  let calls = fakeNsoa({ record: { id: 1, userid: 2, booking_typeid: 3, projectid: 40, customerid: '50',
    project_taskid: 60 } });
  script.afterSaveBooking();
  let body = JSON.parse(calls.posts[0].body);
  assert.deepEqual(Object.keys(body), ['type', 'id', 'user_id', 'timestamp', 'refers_to']);
  assert.deepEqual(body.refers_to, { Projecttask: '60', Project: '40', Customer: '50' });
  calls = fakeNsoa({ record: { id: '9', userid: '4', projecttaskid: '3', planned_hours: 16 } });
  script.afterSaveTaskAssignment();
  assert.deepEqual(JSON.parse(calls.posts[0].body).refers_to, { Projecttask: '3' });
  // Empty or odd values are left out (an id is digits); a record naming nothing sends no refers_to at all.
  calls = fakeNsoa({ record: { id: 1, userid: 2, booking_typeid: 3, projectid: '', customerid: 'x',
    project_taskid: null } });
  script.afterSaveBooking();
  body = JSON.parse(calls.posts[0].body);
  assert.equal('refers_to' in body, false);
  calls = fakeNsoa({ record: { id: '6', userid: '4', timetypeid: '1', startdate: '2026-12-01' } });
  script.afterSaveScheduleRequest();
  assert.equal('refers_to' in JSON.parse(calls.posts[0].body), false);
});

test('network errors are swallowed and logged; the save goes on', () => {
  const calls = fakeNsoa({
    record: { id: 1, userid: 2, booking_typeid: 3 },
    post: () => { throw new Error('connection refused'); },
  });
  assert.doesNotThrow(() => script.afterSaveBooking());
  assert.equal(calls.logs.length, 1);
  assert.equal(calls.logs[0][0], 'error');
  assert.match(calls.logs[0][1], /connection refused/);
  assert.doesNotMatch(calls.logs[0][1], /s3cret/);
});

test('a timeout (code 500 with Client-Warning) and a refusal are logged as warnings', () => {
  for (const answer of [{ code: '500', headers: { 'Client-Warning': 'Internal response' } }, { code: '401' }]) {
    const calls = fakeNsoa({ record: { id: 1, userid: 2, booking_typeid: 3 }, post: () => answer });
    assert.doesNotThrow(() => script.afterSaveBooking());
    assert.equal(calls.logs[0][0], 'warning');
    assert.match(calls.logs[0][1], new RegExp('HTTP ' + answer.code));
  }
});

test('other forms, a missing record and missing parameters send nothing', () => {
  let calls = fakeNsoa({ record: { id: 5, userid: 2, name: 'A project', customerid: 9 } });
  script.afterSaveBooking();
  assert.equal(calls.posts.length, 0);
  assert.match(calls.logs[0][1], /does not hold a Booking/);

  calls = fakeNsoa({ record: { id: 5, userid: 2, booking_typeid: 1, timetypeid: 4 } });
  script.afterSaveScheduleRequest();
  assert.equal(calls.posts.length, 0);

  calls = fakeNsoa({ record: null });
  script.afterSaveTaskAssignment();
  assert.equal(calls.posts.length, 0);

  calls = fakeNsoa({ record: { id: 1, userid: 2, booking_typeid: 3 }, params: { PushUrl: PARAMS.PushUrl } });
  script.afterSaveBooking();
  assert.equal(calls.posts.length, 0);
  assert.match(calls.logs[0][1], /PushSecret/);
});

test('PushUrl must be https to the host itself: the function key is never sent in clear text or elsewhere', () => {
  for (const PushUrl of ['http://sync.example.net/api/openair/changed', 'sync.example.net/api/openair/changed',
    'https://user:pw@sync.example.net/api/openair/changed', 'https://sync.example.net@evil.example/x',
    'javascript:alert(1)']) {
    const calls = fakeNsoa({ record: { id: 1, userid: 2, booking_typeid: 3 }, params: { ...PARAMS, PushUrl } });
    script.afterSaveBooking();
    assert.equal(calls.posts.length, 0, PushUrl);
    assert.match(calls.logs[0][1], /PushUrl must be an https:\/\/ URL/, PushUrl);
  }
  for (const PushUrl of ['HTTPS://sync.example.net/api/openair/changed', 'https://sync.example.net:8443/api/x?y=1']) {
    const calls = fakeNsoa({ record: { id: 1, userid: 2, booking_typeid: 3 }, params: { ...PARAMS, PushUrl } });
    script.afterSaveBooking();
    assert.equal(calls.posts.length, 1, PushUrl);
  }
});

test('even a failing NSOA (record read and logging both throw) never fails the save', () => {
  fakeNsoa({ record: () => { throw new Error('boom'); } });
  global.NSOA.meta.log = () => { throw new Error('log down'); };
  assert.doesNotThrow(() => script.afterSaveBooking());
});
