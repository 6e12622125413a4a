/*
 * The `kv` example chaincode in Node, function for function:
 *   put KEY VALUE  -> "OK"
 *   get KEY        -> the value, or an error "no such key"
 *   del KEY        -> "OK"
 *   ping           -> "pong"
 *   fill PREFIX N  -> puts PREFIX0000..PREFIX{N-1} (4 digits), each with its
 *                     key as value, then "OK"
 *   range START END -> a JSON array of the keys in [START, END), in order
 *   bench R W V [KEY] -> the load driver's transaction (ccaas-load): gets
 *                     KEY:r0..KEY:r{R-1} in order, then puts KEY:w0..KEY:w{W-1},
 *                     each with the same V bytes (the txid repeated, as
 *                     Buffer.alloc(V, txid)), and answers the total length of
 *                     the values read, in decimal; KEY defaults to "bench";
 *                     R, W up to 10000, V up to 16777216
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

    async bench(ctx, reads, writes, bytes, key) {
        const number = (text, max) => {
            const n = /^[0-9]+$/.test(text) ? Number.parseInt(text, 10) : NaN;
            if (!Number.isInteger(n) || n > max) {
                throw new Error('usage: bench R W V [KEY] (R and W up to 10000, V up to 16777216)');
            }
            return n;
        };
        const r = number(reads, 10000);
        const w = number(writes, 10000);
        const v = number(bytes, 16777216);
        const prefix = key === undefined ? 'bench' : key;
        let total = 0;
        for (let i = 0; i < r; i++) {
            const value = await ctx.stub.getState(`${prefix}:r${i}`);
            total += value ? value.length : 0;
        }
        if (w > 0) {
            const value = Buffer.alloc(v, ctx.stub.getTxID());
            for (let j = 0; j < w; j++) {
                await ctx.stub.putState(`${prefix}:w${j}`, value);
            }
        }
        return String(total);
    }
}

module.exports.contracts = [KvContract];
