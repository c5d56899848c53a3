// The official Voucherify SDK, @voucherify/sdk@2.9.0, against a promo server.
//
//   PROMO_URL=http://127.0.0.1:8080 PROMO_APP_ID=... PROMO_APP_TOKEN=... node sdk.test.js
//
// run.sh beside this file starts a fresh server and runs it. Every call goes
// through the SDK's own methods, so this proves that an unchanged client
// works against us: code generation, listing, customers, publication,
// validation, redemption, rollback and the error envelope. It prints one line
// per step and exits 1 at the first failure, with the request and the
// response that failed.
'use strict';

const assert = require('node:assert/strict');
const { VoucherifyServerSide } = require('@voucherify/sdk');

const VOUCHERS = 1000;
const PAGE = 100;
const CODE = /^SUM-[0-9A-Z]{4}-[0-9A-Z]{4}$/;
const GENERATION_TIMEOUT_MS = 60_000;

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`sdk.test.js: set ${name} (see run.sh)`);
    process.exit(2);
  }
  return v;
}

// The SDK builds its base URL as `${apiUrl}/v1/`: a trailing slash would
// make every path start with //.
const apiUrl = env('PROMO_URL').replace(/\/+$/, '');
const applicationId = env('PROMO_APP_ID');
const secretKey = env('PROMO_APP_TOKEN');

const client = VoucherifyServerSide({
  applicationId,
  secretKey,
  apiUrl,
  exposeErrorCause: true, // so that a failure can show the request and response
  timeoutMs: 30_000,
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const show = (v) => JSON.stringify(v, null, 2);

// describe explains a failed step: the HTTP exchange behind a VoucherifyError
// (its cause is the axios error), or the assertion and its values.
function describe(err) {
  const lines = [];
  const cause = err && err.cause;
  if (cause && cause.config) {
    const c = cause.config;
    let url = `${c.baseURL || ''}${(c.url || '').replace(/^\//, '')}`;
    if (c.params && Object.keys(c.params).length) url += ` params=${JSON.stringify(c.params)}`;
    lines.push(`request:  ${String(c.method).toUpperCase()} ${url}`);
    if (c.data) lines.push(`body:     ${c.data}`);
  }
  if (cause && cause.response) {
    lines.push(`response: ${cause.response.status} ${show(cause.response.data)}`);
  } else if (cause) {
    lines.push(`error:    ${cause.message}`);
  }
  if (err instanceof assert.AssertionError) {
    lines.push(err.message);
  } else if (err && err.key !== undefined) {
    lines.push(`VoucherifyError: code=${err.code} key=${err.key} message=${err.message}`);
  } else {
    lines.push(String((err && err.stack) || err));
  }
  return lines.join('\n');
}

let stepNo = 0;
let lastResponse; // the last SDK result, shown when an assertion fails

// step runs one named part of the scenario and stops everything on failure.
async function step(name, fn) {
  stepNo++;
  const started = Date.now();
  try {
    const out = await fn();
    console.log(`ok ${stepNo} - ${name} (${Date.now() - started} ms)`);
    return out;
  } catch (err) {
    console.error(`not ok ${stepNo} - ${name}`);
    console.error(describe(err).replace(/^/gm, '  '));
    if (err instanceof assert.AssertionError && lastResponse !== undefined) {
      console.error(`  last SDK result:\n${show(lastResponse).replace(/^/gm, '    ')}`);
    }
    process.exit(1);
  }
}

// call records an SDK result so that a failed assertion can show it.
async function call(promise) {
  lastResponse = await promise;
  return lastResponse;
}

// expectError returns the VoucherifyError the promise rejects with.
async function expectError(promise) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    assert.equal(err.isAxiosError, undefined, `want a VoucherifyError, got a transport error: ${err.message}`);
    return err;
  }
  lastResponse = result;
  assert.fail('the call succeeded; want an error');
}

async function main() {
  const suffix = `${Date.now().toString(36)}-${process.pid}`;
  const name = `sdk-test-${suffix}`;
  const sourceId = `sdk-customer-${suffix}`;

  const campaign = await step(`campaigns.create: ${name} with ${VOUCHERS} codes`, async () => {
    const c = await call(client.campaigns.create({
      name,
      campaign_type: 'DISCOUNT_COUPONS',
      type: 'STATIC',
      vouchers_count: VOUCHERS,
      voucher: {
        type: 'DISCOUNT_VOUCHER',
        discount: { type: 'AMOUNT', amount_off: 1000 },
        code_config: { pattern: 'SUM-####-####' },
      },
    }));
    assert.equal(c.object, 'campaign');
    assert.match(c.id, /^camp_/);
    assert.equal(c.name, name);
    assert.equal(c.campaign_type, 'DISCOUNT_COUPONS');
    assert.equal(c.type, 'STATIC');
    assert.equal(c.voucher.discount.amount_off, 1000);
    assert.equal(c.voucher.code_config.pattern, 'SUM-####-####');
    assert.match(c.async_action_id, /^aa_/, 'want async_action_id aa_... for the generation');
    assert.ok(['IN_PROGRESS', 'DONE'].includes(c.creation_status), `creation_status ${c.creation_status}`);
    return c;
  });

  await step(`asyncActions.get: ${campaign.async_action_id} reaches DONE`, async () => {
    const deadline = Date.now() + GENERATION_TIMEOUT_MS;
    for (;;) {
      const a = await call(client.asyncActions.get(campaign.async_action_id));
      assert.equal(a.object, 'async_action');
      assert.equal(a.id, campaign.async_action_id);
      assert.ok(['ENQUEUED', 'IN_PROGRESS', 'DONE'].includes(a.status), `status ${a.status}`);
      if (a.status === 'DONE') {
        assert.equal(a.progress, 100);
        assert.equal(a.result.done_count, VOUCHERS);
        return a;
      }
      assert.ok(Date.now() < deadline, `not DONE after ${GENERATION_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  });

  await step('campaigns.get: by name and by id, vouchers_count and status DONE', async () => {
    for (const key of [name, campaign.id]) {
      const c = await call(client.campaigns.get(key));
      assert.equal(c.id, campaign.id);
      assert.equal(c.name, name);
      assert.equal(c.vouchers_count, VOUCHERS);
      assert.equal(c.vouchers_generation_status, 'DONE');
      assert.equal(c.creation_status, 'DONE');
    }
  });

  const codes = await step(`vouchers.list: ${VOUCHERS / PAGE} pages of ${PAGE}, ${VOUCHERS} distinct codes`, async () => {
    const seen = new Set();
    for (let page = 1; page <= VOUCHERS / PAGE; page++) {
      const list = await call(client.vouchers.list({ campaign: name, limit: PAGE, page }));
      assert.equal(list.object, 'list');
      assert.equal(list.data_ref, 'vouchers');
      assert.equal(list.total, VOUCHERS);
      assert.equal(list.vouchers.length, PAGE, `page ${page}`);
      for (const v of list.vouchers) {
        assert.equal(v.object, 'voucher');
        assert.match(v.code, CODE);
        assert.equal(v.campaign, name);
        assert.equal(v.campaign_id, campaign.id);
        assert.ok(!seen.has(v.code), `code ${v.code} listed twice`);
        seen.add(v.code);
      }
    }
    assert.equal(seen.size, VOUCHERS);
    return seen;
  });

  const customer = await step(`customers.create: ${sourceId}`, async () => {
    const c = await call(client.customers.create({ source_id: sourceId, name: 'SDK Test', email: 'sdk@example.com' }));
    assert.equal(c.object, 'customer');
    assert.match(c.id, /^cust_/);
    assert.equal(c.source_id, sourceId);
    assert.equal(c.name, 'SDK Test');
    assert.equal(c.email, 'sdk@example.com');
    return c;
  });

  const publication = await step('distributions.publications.create: one code to the customer', async () => {
    const p = await call(client.distributions.publications.create({
      campaign: { name, count: 1 },
      customer: { source_id: sourceId },
      channel: 'API',
    }));
    assert.equal(p.object, 'publication');
    assert.match(p.id, /^pub_/);
    assert.equal(p.result, 'SUCCESS');
    assert.equal(p.customer_id, customer.id);
    assert.equal(p.channel, 'API');
    assert.ok(codes.has(p.voucher.code), `published code ${p.voucher.code} is not one of the campaign's`);
    assert.equal(p.voucher.holder_id, customer.id);
    return p;
  });

  await step('distributions.publications.list: by customer', async () => {
    const list = await call(client.distributions.publications.list({ customer: customer.id }));
    assert.equal(list.object, 'list');
    assert.equal(list.data_ref, 'publications');
    assert.equal(list.total, 1);
    assert.equal(list.publications.length, 1);
    const p = list.publications[0];
    assert.equal(p.id, publication.id);
    assert.equal(p.customer_id, customer.id);
    assert.equal(p.voucher.code, publication.voucher.code);
  });

  await step(`vouchers.get: ${publication.voucher.code} is held by the customer`, async () => {
    const v = await call(client.vouchers.get(publication.voucher.code));
    assert.equal(v.object, 'voucher');
    assert.equal(v.code, publication.voucher.code);
    assert.equal(v.campaign, name);
    assert.equal(v.holder_id, customer.id);
    assert.equal(v.publish.count, 1);
    assert.equal(v.discount.type, 'AMOUNT');
    assert.equal(v.discount.amount_off, 1000);
  });

  await step('customers.get: by id and by source_id', async () => {
    for (const key of [customer.id, sourceId]) {
      const c = await call(client.customers.get(key));
      assert.equal(c.id, customer.id);
      assert.equal(c.source_id, sourceId);
    }
  });

  // Validation and redemption, with amounts in minor units: each code takes
  // 1000 off an order of 5000.
  const held = publication.voucher.code;
  const [stackA, stackB] = [...codes].filter((c) => c !== held).slice(0, 2);
  const order = () => ({ amount: 5000, items: [{ source_id: `sku-${suffix}`, quantity: 1, price: 5000 }] });
  const who = { source_id: sourceId };

  await step(`validations.validateVoucher and validate(code, ctx): ${held} is valid, 1000 off 5000`, async () => {
    for (const send of [
      () => client.validations.validateVoucher(held, { customer: who, order: order() }),
      () => client.validations.validate(held, { customer: who, order: order() }),
    ]) {
      const v = await call(send());
      assert.equal(v.valid, true);
      assert.equal(v.code, held);
      assert.equal(v.campaign, name);
      assert.equal(v.campaign_id, campaign.id);
      assert.equal(v.discount.type, 'AMOUNT');
      assert.equal(v.discount.amount_off, 1000);
      assert.equal(v.order.amount, 5000);
      assert.equal(v.order.discount_amount, 1000);
      assert.equal(v.order.total_discount_amount, 1000);
      assert.equal(v.order.total_amount, 4000);
    }
  });

  await step('validations.validateVoucher: an unknown code is valid false, not an error', async () => {
    const v = await call(client.validations.validateVoucher('NOPE-0000-0000', { order: order() }));
    assert.equal(v.valid, false);
    assert.equal(v.code, 'NOPE-0000-0000');
    assert.ok(v.reason, 'want a reason');
  });

  await step(`validations.validateStackable: ${stackA} + ${stackB} are valid, 2000 off 5000`, async () => {
    const v = await call(client.validations.validateStackable({
      customer: who,
      order: order(),
      redeemables: [{ object: 'voucher', id: stackA }, { object: 'voucher', id: stackB }],
    }));
    assert.equal(v.valid, true);
    assert.match(v.id, /^valid_/);
    assert.equal(v.redeemables.length, 2);
    v.redeemables.forEach((r, i) => {
      assert.equal(r.status, 'APPLICABLE', `redeemables[${i}].status`);
      assert.equal(r.object, 'voucher');
      assert.equal(r.id, [stackA, stackB][i]);
      assert.equal(r.result.discount.amount_off, 1000);
    });
    assert.equal(v.order.amount, 5000);
    assert.equal(v.order.total_discount_amount, 2000);
    assert.equal(v.order.total_amount, 3000);
  });

  await step('validations.validateStackable: an unknown code makes it valid false', async () => {
    const v = await call(client.validations.validateStackable({
      order: order(),
      redeemables: [{ object: 'voucher', id: 'NOPE-0000-0000' }],
    }));
    assert.equal(v.valid, false);
    assert.equal(v.redeemables.length, 1);
    assert.equal(v.redeemables[0].status, 'INAPPLICABLE');
  });

  const single = await step(`redemptions.redeem: ${held}, 1000 off 5000`, async () => {
    const r = await call(client.redemptions.redeem(held, { customer: who, order: order() }));
    assert.equal(r.object, 'redemption');
    assert.match(r.id, /^r_/);
    assert.equal(r.result, 'SUCCESS');
    assert.equal(r.status, 'SUCCEEDED');
    assert.equal(r.amount, 1000);
    assert.equal(r.customer_id, customer.id);
    assert.equal(r.voucher.code, held);
    assert.equal(r.voucher.campaign_id, campaign.id);
    assert.equal(r.order.amount, 5000);
    assert.equal(r.order.discount_amount, 1000);
    return r;
  });

  const stacked = await step(`redemptions.redeemStackable: ${stackA} + ${stackB}, 2000 off 5000`, async () => {
    const r = await call(client.redemptions.redeemStackable({
      customer: who,
      order: order(),
      redeemables: [{ object: 'voucher', id: stackA }, { object: 'voucher', id: stackB }],
    }));
    const parent = r.parent_redemption;
    assert.equal(parent.object, 'redemption');
    assert.match(parent.id, /^r_/);
    assert.equal(parent.result, 'SUCCESS');
    assert.equal(parent.amount, 2000);
    assert.equal(parent.customer_id, customer.id);
    assert.equal(r.redemptions.length, 2);
    r.redemptions.forEach((c, i) => {
      assert.equal(c.object, 'redemption');
      assert.match(c.id, /^r_/);
      assert.equal(c.result, 'SUCCESS', `redemptions[${i}].result`);
      assert.equal(c.amount, 1000);
      assert.equal(c.redemption, parent.id, `redemptions[${i}].redemption is the parent`);
      assert.equal(c.voucher.code, [stackA, stackB][i]);
    });
    assert.equal(r.order.amount, 5000);
    assert.equal(r.order.total_discount_amount, 2000);
    assert.equal(r.order.total_amount, 3000);
    assert.deepEqual(r.inapplicable_redeemables || [], []);
    return r;
  });

  await step('redemptions.redeem: an unknown code is 404', async () => {
    const e = await expectError(client.redemptions.redeem('NOPE-0000-0000', { order: order() }));
    assert.equal(e.code, 404);
    assert.ok(e.message);
  });

  await step('redemptions.get: the single, the parent and a child', async () => {
    const r = await call(client.redemptions.get(single.id));
    assert.equal(r.object, 'redemption');
    assert.equal(r.id, single.id);
    assert.equal(r.result, 'SUCCESS');
    assert.equal(r.amount, 1000);
    assert.equal(r.voucher.code, held);
    const p = await call(client.redemptions.get(stacked.parent_redemption.id));
    assert.equal(p.id, stacked.parent_redemption.id);
    assert.equal(p.amount, 2000);
    const c = await call(client.redemptions.get(stacked.redemptions[0].id));
    assert.equal(c.redemption, stacked.parent_redemption.id);
    assert.equal(c.voucher.code, stackA);
  });

  await step('redemptions.list: by customer, then by campaign', async () => {
    const want = new Set([single.id, stacked.parent_redemption.id, ...stacked.redemptions.map((r) => r.id)]);
    const list = await call(client.redemptions.list({ customer: customer.id, limit: 100 }));
    assert.equal(list.object, 'list');
    assert.equal(list.data_ref, 'redemptions');
    assert.equal(list.total, want.size);
    assert.equal(list.redemptions.length, want.size);
    for (const r of list.redemptions) {
      assert.ok(want.has(r.id), `unexpected ${r.id}`);
      assert.equal(r.result, 'SUCCESS');
    }
    const byCampaign = await call(client.redemptions.list({ campaign: name, limit: 100 }));
    assert.ok(byCampaign.total >= 3, `total ${byCampaign.total} by campaign`);
    const ids = new Set(byCampaign.redemptions.map((r) => r.id));
    for (const r of [single, ...stacked.redemptions]) assert.ok(ids.has(r.id), `${r.id} missing by campaign`);
    const page = await call(client.redemptions.list({ customer: customer.id, limit: 1, page: 2 }));
    assert.equal(page.redemptions.length, 1);
    assert.equal(page.total, want.size);
  });

  const rollback = await step(`redemptions.rollback: ${single.id} with a reason`, async () => {
    const rr = await call(client.redemptions.rollback(single.id, 'sdk test'));
    assert.equal(rr.object, 'redemption_rollback');
    assert.match(rr.id, /^rr_/);
    assert.equal(rr.result, 'SUCCESS');
    assert.equal(rr.amount, -1000);
    assert.equal(rr.redemption, single.id);
    assert.equal(rr.reason, 'sdk test');
    assert.equal(rr.customer_id, customer.id);
    return rr;
  });

  await step('redemptions.get: the rolled-back redemption; rollback again is 400', async () => {
    const r = await call(client.redemptions.get(single.id));
    assert.equal(r.status, 'ROLLED_BACK');
    assert.equal(r.rollback_id, rollback.id);
    const e = await expectError(client.redemptions.rollback(single.id, { reason: 'twice' }));
    assert.equal(e.code, 400);
    assert.equal(e.key, 'already_rolled_back');
  });

  const stackedRollback = await step(`redemptions.rollbackStackable: ${stacked.parent_redemption.id}`, async () => {
    const r = await call(client.redemptions.rollbackStackable(stacked.parent_redemption.id, { reason: 'sdk stacked' }));
    const parent = r.parent_rollback;
    assert.equal(parent.object, 'redemption_rollback');
    assert.match(parent.id, /^rr_/);
    assert.equal(parent.result, 'SUCCESS');
    assert.equal(parent.amount, -2000);
    assert.equal(parent.redemption, stacked.parent_redemption.id);
    assert.equal(r.rollbacks.length, 2);
    const children = new Set(stacked.redemptions.map((c) => c.id));
    for (const [i, c] of r.rollbacks.entries()) {
      assert.equal(c.object, 'redemption_rollback');
      assert.equal(c.result, 'SUCCESS', `rollbacks[${i}].result`);
      assert.equal(c.amount, -1000);
      assert.ok(children.has(c.redemption), `rollbacks[${i}].redemption ${c.redemption} is not a child`);
      children.delete(c.redemption);
    }
    return r;
  });

  await step('redemptions.get and list: everything rolled back, rollbacks listed', async () => {
    for (const id of [stacked.parent_redemption.id, ...stacked.redemptions.map((r) => r.id)]) {
      const r = await call(client.redemptions.get(id));
      assert.equal(r.status, 'ROLLED_BACK', `${id} status`);
    }
    const list = await call(client.redemptions.list({ customer: customer.id, limit: 100 }));
    const rollbacks = list.redemptions.filter((r) => r.object === 'redemption_rollback');
    assert.equal(list.total, 8, 'four redemptions and four rollbacks');
    assert.equal(rollbacks.length, 4);
    const ids = new Set(rollbacks.map((r) => r.id));
    for (const rr of [rollback, stackedRollback.parent_rollback, ...stackedRollback.rollbacks]) {
      assert.ok(ids.has(rr.id), `${rr.id} is not listed`);
    }
    // The parent's rollback (-2000) repeats its children's: the vouchers'
    // own rollbacks undo the 3000 that was redeemed.
    const perVoucher = rollbacks.filter((r) => r.related_object_type === 'voucher');
    assert.equal(perVoucher.length, 3);
    assert.equal(perVoucher.reduce((sum, r) => sum + r.amount, 0), -3000);
  });

  await step('errors: an unknown voucher, campaign and customer are 404 not_found', async () => {
    for (const [what, send] of [
      ['vouchers.get', () => client.vouchers.get('NOPE-0000-0000')],
      ['campaigns.get', () => client.campaigns.get(`no-such-campaign-${suffix}`)],
      ['customers.get', () => client.customers.get(`no-such-customer-${suffix}`)],
    ]) {
      const e = await expectError(send());
      assert.equal(e.code, 404, `${what}: e.code`);
      assert.equal(e.key, 'not_found', `${what}: e.key`);
      assert.ok(e.message, `${what}: e.message`);
      assert.match(e.request_id || '', /./, `${what}: e.request_id`);
    }
  });

  await step('errors: a wrong token is 401', async () => {
    const intruder = VoucherifyServerSide({ applicationId, secretKey: `${secretKey}x`, apiUrl, timeoutMs: 30_000 });
    const e = await expectError(intruder.campaigns.get(name));
    assert.equal(e.code, 401);
  });

  console.log(`all ${stepNo} steps passed against ${apiUrl}`);
}

main().catch((err) => {
  console.error(describe(err));
  process.exit(1);
});
