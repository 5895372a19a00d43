/*
 * OpenAir "After save" form script: tells the calendar sync (openair-m365-sync) which record was just saved, so
 * its event reaches Outlook in seconds instead of at the next timer run.
 *
 * Deploy on three forms, event "After save", with these entrance functions:
 *   Booking form          -> afterSaveBooking
 *   Task assignment form  -> afterSaveTaskAssignment
 *   Schedule request form -> afterSaveScheduleRequest
 * Script parameters:
 *   PushUrl      (text)      https://<function app>.azurewebsites.net/api/openair/changed
 *   PushSecret   (password)  the product's OPENAIR_PUSH_SECRET
 *   FunctionKey  (password)  a function key of the function app (sent as x-functions-key)
 * Needs the switch "Enable user script support for https methods" (NSOA.https).
 *
 * What it sends (and nothing else: the product re-reads the record from OpenAir, this is only a hint):
 *   POST PushUrl, Content-Type: application/json, x-functions-key: FunctionKey,
 *   X-OpenAir-Signature: sha256=<hex HMAC-SHA256 of the exact body, key PushSecret>
 *   {"type":"Booking","id":"123","user_id":"45","timestamp":1764590400,
 *    "refers_to":{"Projecttask":"9","Project":"3","Customer":"7"}}
 * `refers_to` (left out when the record names none) lists the task, project and customer ids the saved record
 * names, so the product reads them in the same OpenAir request as the record itself.
 *
 * It never fails or blocks the user's save beyond the post itself: every error is caught and written to the
 * script deployment log with NSOA.meta.log, and the save goes on. A missed push is caught up by the product's
 * timer. User scripting documents no crypto API, so SHA-256 and HMAC (FIPS 180-4, RFC 2104) are implemented
 * below in plain ES5 JavaScript; tests/push/after_save.test.js checks them against Node's crypto.
 */

var PUSH_FORMS = {
    // OpenAir XML API type name -> a field only that record has (guards against deployment on the wrong form)
    Booking: 'booking_typeid',
    Projecttaskassign: 'projecttaskid',
    Schedulerequest: 'timetypeid'
};

function afterSaveBooking(type) {
    notifyChanged('Booking');
}

function afterSaveTaskAssignment(type) {
    notifyChanged('Projecttaskassign');
}

function afterSaveScheduleRequest(type) {
    notifyChanged('Schedulerequest');
}

// OpenAir XML API type name -> the fields of a saved record that may hold its id (bookings name their task
// project_taskid, task assignments projecttaskid).
var REFERENCE_FIELDS = {
    Projecttask: ['project_taskid', 'projecttaskid'],
    Project: ['projectid'],
    Customer: ['customerid']
};

function referencesOf(record) {
    var refs = {};
    var any = false;
    for (var typeName in REFERENCE_FIELDS) {
        var fields = REFERENCE_FIELDS[typeName];
        for (var i = 0; i < fields.length; i++) {
            var value = record[fields[i]];
            if (value !== undefined && value !== null && /^[0-9]{1,18}$/.test(String(value))) {
                refs[typeName] = String(value);
                any = true;
                break;
            }
        }
    }
    return any ? refs : null;
}

function pushLog(severity, message) {
    try {
        NSOA.meta.log(severity, 'calendar sync push: ' + message);
    } catch (ignored) {
        // Logging itself failed: nothing more can be done without risking the user's save.
    }
}

function looksLike(typeName, record) {
    var field = PUSH_FORMS[typeName];
    if (!field || !record || record.id === undefined || record.id === null || record.id === '') {
        return false;
    }
    if (!(field in record)) {
        return false;
    }
    // A booking also has most schedule request fields; a schedule request never has a booking type.
    return !(typeName === 'Schedulerequest' && 'booking_typeid' in record);
}

function notifyChanged(typeName) {
    try {
        var record = NSOA.form.getNewRecord();
        if (!looksLike(typeName, record)) {
            pushLog('warning', 'this form does not hold a ' + typeName + ' record; nothing sent (check the deployment)');
            return;
        }
        var url = NSOA.context.getParameter('PushUrl');
        var secret = NSOA.context.getParameter('PushSecret');
        var functionKey = NSOA.context.getParameter('FunctionKey');
        if (!url || !secret) {
            pushLog('warning', 'script parameters PushUrl and PushSecret must be set; nothing sent');
            return;
        }
        // The function key travels in a header: never over plain http, nor to a URL with user:password@ in it.
        if (!/^https:\/\/[^\/?#@]+([\/?#]|$)/i.test(String(url))) {
            pushLog('warning', 'script parameter PushUrl must be an https:// URL of the function app; nothing sent');
            return;
        }
        var notice = {
            type: typeName,
            id: String(record.id),
            user_id: record.userid === undefined || record.userid === null ? '' : String(record.userid),
            timestamp: Math.floor(new Date().getTime() / 1000)
        };
        var refs = referencesOf(record);
        if (refs) {
            notice.refers_to = refs;
        }
        var body = JSON.stringify(notice);
        var headers = {
            'Content-Type': 'application/json',
            'X-OpenAir-Signature': 'sha256=' + hmacSha256Hex(String(secret), body)
        };
        if (functionKey) {
            headers['x-functions-key'] = String(functionKey);
        }
        // A string body is sent as is (an object would be re-serialised and URL-encoded, breaking the signature).
        var response = NSOA.https.post({ url: String(url), body: body, headers: headers });
        var code = response ? parseInt(response.code, 10) : 0;
        if (!(code >= 200 && code < 300)) {
            pushLog('warning', typeName + ' ' + record.id + ' not announced: HTTP ' + code +
                ' (the next timer run exports it)');
        }
    } catch (e) {
        pushLog('error', typeName + ' not announced: ' + e + ' (the next timer run exports it)');
    }
}

// ---------------------------------------------------------------- SHA-256 / HMAC-SHA256 (plain ES5)

var SHA256_K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
];

function utf8Bytes(text) {
    var bytes = [];
    for (var i = 0; i < text.length; i++) {
        var c = text.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
            var low = text.charCodeAt(i + 1);
            if (low >= 0xdc00 && low <= 0xdfff) {
                c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
                i++;
            }
        }
        if (c >= 0xd800 && c <= 0xdfff) {
            c = 0xfffd; // a lone surrogate, encoded as the replacement character (as TextEncoder and Node do)
        }
        if (c < 0x80) {
            bytes.push(c);
        } else if (c < 0x800) {
            bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        } else if (c < 0x10000) {
            bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        } else {
            bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        }
    }
    return bytes;
}

function sha256Bytes(message) {
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    var bytes = message.slice(0);
    var bitLength = message.length * 8;
    bytes.push(0x80);
    while (bytes.length % 64 !== 56) {
        bytes.push(0);
    }
    // 64-bit big-endian length; messages here are far below 2^32 bits, so the high word is computed, not assumed.
    var high = Math.floor(bitLength / 0x100000000);
    bytes.push((high >>> 24) & 255, (high >>> 16) & 255, (high >>> 8) & 255, high & 255);
    bytes.push((bitLength >>> 24) & 255, (bitLength >>> 16) & 255, (bitLength >>> 8) & 255, bitLength & 255);
    var w = new Array(64);
    for (var offset = 0; offset < bytes.length; offset += 64) {
        for (var t = 0; t < 16; t++) {
            var j = offset + t * 4;
            w[t] = ((bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3]) | 0;
        }
        for (t = 16; t < 64; t++) {
            var x = w[t - 15];
            var y = w[t - 2];
            var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
            var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
            w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
        }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
        for (t = 0; t < 64; t++) {
            var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
            var ch = (e & f) ^ (~e & g);
            var temp1 = (k + S1 + ch + SHA256_K[t] + w[t]) | 0;
            var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
            var maj = (a & b) ^ (a & c) ^ (b & c);
            var temp2 = (S0 + maj) | 0;
            k = g;
            g = f;
            f = e;
            e = (d + temp1) | 0;
            d = c;
            c = b;
            b = a;
            a = (temp1 + temp2) | 0;
        }
        h[0] = (h[0] + a) | 0;
        h[1] = (h[1] + b) | 0;
        h[2] = (h[2] + c) | 0;
        h[3] = (h[3] + d) | 0;
        h[4] = (h[4] + e) | 0;
        h[5] = (h[5] + f) | 0;
        h[6] = (h[6] + g) | 0;
        h[7] = (h[7] + k) | 0;
    }
    var out = [];
    for (var i = 0; i < 8; i++) {
        out.push((h[i] >>> 24) & 255, (h[i] >>> 16) & 255, (h[i] >>> 8) & 255, h[i] & 255);
    }
    return out;
}

function hmacSha256Hex(key, message) {
    var keyBytes = utf8Bytes(key);
    if (keyBytes.length > 64) {
        keyBytes = sha256Bytes(keyBytes);
    }
    var inner = [];
    var outer = [];
    for (var i = 0; i < 64; i++) {
        var byte = i < keyBytes.length ? keyBytes[i] : 0;
        inner.push(byte ^ 0x36);
        outer.push(byte ^ 0x5c);
    }
    var digest = sha256Bytes(outer.concat(sha256Bytes(inner.concat(utf8Bytes(message)))));
    var hex = '';
    for (i = 0; i < digest.length; i++) {
        hex += (digest[i] < 16 ? '0' : '') + digest[i].toString(16);
    }
    return hex;
}

// Node (the tests) loads this file as a module; OpenAir runs it as a plain script, where `module` is undefined.
if (typeof module !== 'undefined' && module.exports) {
    module.exports = {
        afterSaveBooking: afterSaveBooking,
        afterSaveTaskAssignment: afterSaveTaskAssignment,
        afterSaveScheduleRequest: afterSaveScheduleRequest,
        notifyChanged: notifyChanged,
        hmacSha256Hex: hmacSha256Hex,
        sha256Bytes: sha256Bytes,
        utf8Bytes: utf8Bytes
    };
}
