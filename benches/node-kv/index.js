/*
 * The `kv` example chaincode in Node, function for function:
 *   put KEY VALUE  -> "OK"
 *   get KEY        -> the value, or an error "no such key"
 *   del KEY        -> "OK"
 *   ping           -> "pong"
 *   fill PREFIX N  -> puts PREFIX0000..PREFIX{N-1} (4 digits), each with its
 *                     key as value, then "OK"
 *   range START END -> a JSON array of the keys in [START, END), in order
 *
 * Run as a chaincode server:
 *   fabric-chaincode-node server --chaincode-address 127.0.0.1:9999 --chaincode-id ID
 * Used by bin-scripts/node-shim-check and for benchmarks.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
'use strict';

const {Contract} = require('fabric-contract-api');

class KvContract extends Contract {
    constructor() {
        super('kv');
    }

    async put(ctx, key, value) {
        await ctx.stub.putState(key, Buffer.from(value));
        return 'OK';
    }

    async get(ctx, key) {
        const value = await ctx.stub.getState(key);
        if (!value || value.length === 0) {
            throw new Error('no such key');
        }
        return value.toString();
    }

    async del(ctx, key) {
        await ctx.stub.deleteState(key);
        return 'OK';
    }

    async ping() {
        return 'pong';
    }

    async fill(ctx, prefix, count) {
        const n = Number.parseInt(count, 10);
        if (!Number.isInteger(n) || n < 0 || n > 10000) {
            throw new Error('fill: N must be an integer from 0 to 10000');
        }
        for (let i = 0; i < n; i++) {
            const key = prefix + String(i).padStart(4, '0');
            await ctx.stub.putState(key, Buffer.from(key));
        }
        return 'OK';
    }

    async range(ctx, start, end) {
        const keys = [];
        const iterator = await ctx.stub.getStateByRange(start, end);
        try {
            for (let res = await iterator.next(); !res.done; res = await iterator.next()) {
                keys.push(res.value.key);
            }
        } finally {
            await iterator.close();
        }
        return JSON.stringify(keys);
    }
}

module.exports.contracts = [KvContract];
