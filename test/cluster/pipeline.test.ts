import { describe, expect, it } from "vitest";
import { CommandTimeoutError, UpdateOvertakenError } from "../../src/core/errors.js";
import { orderKeyOf } from "../../src/core/manifest.js";
import { type Command, keptWhatHeld, type Outcome, resendable, SCRIPT_WAVE_UNITS, scriptWaves, TurnTimeoutError, WaveGate } from "../../src/cluster/pipeline.js";

// Which commands of a batch may be sent again after the server turned them away for a moment
// (NOSCRIPT, BUSY, LOADING): all of a pure script's; of a streaming update's, only those no later
// update of the same symbol overtook, since a resent one would land behind it and be dropped.
describe("resendable", () => {
  const update = (symbol: string) => orderKeyOf({ script: "stream_update", keys: [`indicator:atr14:${symbol}`, `indicator:vwap:${symbol}`, `indicator:rsi14:${symbol}`], args: [] });
  const atr = orderKeyOf({ script: "atr", keys: ["pattern_cache:atr:v3.0.1:NIFTY:0"], args: [] });
  const turnedAway = (): Outcome => ({ ok: false, error: new Error("NOSCRIPT No matching script") });
  const answered = (): Outcome => ({ ok: true, reply: [] });

  it("keeps every command of a pure script, in order", () => {
    const outcomes = [turnedAway(), answered(), turnedAway()];
    expect(atr).toBeUndefined();
    expect(resendable([0, 2], outcomes, [atr, atr, atr])).toEqual([0, 2]);
    expect(resendable([0, 2], outcomes, undefined)).toEqual([0, 2]);
  });

  it("fails an update a later one of its symbol overtook, and resends the rest", () => {
    // NIFTY: 0 turned away, 1 got through, 2 turned away; BANKNIFTY: 3 turned away, nothing after it
    const outcomes = [turnedAway(), answered(), turnedAway(), turnedAway()];
    const order = [update("NIFTY"), update("NIFTY"), update("NIFTY"), update("BANKNIFTY")];
    expect(resendable([0, 2, 3], outcomes, order)).toEqual([2, 3]);
    const first = outcomes[0] as Outcome;
    expect(first.ok).toBe(false);
    expect(!first.ok && first.error).toBeInstanceOf(UpdateOvertakenError);
    expect(!first.ok && (first.error as UpdateOvertakenError).script).toBe("stream_update");
  });
});

// How a batch of script calls is cut into waves, each sent once the one before has its replies:
// a unit is a small call, and each kilobyte of a call's arguments one more.
describe("scriptWaves", () => {
  const call = (argumentBytes: number): Command => ["EVALSHA", "f".repeat(40), 1, Buffer.alloc(argumentBytes)];

  it("cuts small calls into waves of at most SCRIPT_WAVE_UNITS, in order", () => {
    const waves = scriptWaves(Array.from({ length: 40 }, () => call(100))).map((wave) => wave.calls);
    expect(waves.flat()).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(waves.map((wave) => wave.length)).toEqual([13, 13, 13, 1]); // 1.14 units each (148 bytes of arguments)
  });

  it("counts each kilobyte of arguments: 6 KB calls go two at a time; one heavier than a wave goes alone", () => {
    const calls = (commands: Command[]) => scriptWaves(commands).map((wave) => wave.calls);
    expect(calls([call(6144), call(6144), call(6144)])).toEqual([[0, 1], [2]]);
    expect(calls([call(100), call(SCRIPT_WAVE_UNITS * 1024), call(100)])).toEqual([[0], [1], [2]]);
  });
});

// The script work in flight to one Redis, shared by single calls and batches' waves: what does not
// fit waits, in the order it came; one call never waits on nothing.
describe("WaveGate", () => {
  /** Enters each of `units` in turn; `order` records each as it is let in. */
  function enterAll(gate: WaveGate, units: number[], order: number[]): void {
    units.forEach((u, i) => {
      const turn = gate.enter(u);
      if (turn) void turn.then(() => order.push(i));
      else order.push(i);
    });
  }
  const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

  it("lets in at once what fits, holds the rest in order until units come back", async () => {
    const gate = new WaveGate();
    const order: number[] = [];
    enterAll(gate, [10, 6, 1, 1], order);
    await settled();
    expect(order).toEqual([0, 1]); // 16 in flight; the two of 1 wait
    gate.leave(6);
    await settled();
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("keeps order: a small call that would fit waits behind a large one that does not", async () => {
    const gate = new WaveGate();
    const order: number[] = [];
    enterAll(gate, [12, 8, 2], order);
    await settled();
    expect(order).toEqual([0]);
    gate.leave(12);
    await settled();
    expect(order).toEqual([0, 1, 2]);
  });

  it("lets a call heavier than a wave in alone, once nothing is in flight", async () => {
    const gate = new WaveGate();
    const order: number[] = [];
    enterAll(gate, [1, SCRIPT_WAVE_UNITS * 2, 1], order);
    await settled();
    expect(order).toEqual([0]);
    gate.leave(1);
    await settled();
    expect(order).toEqual([0, 1]);
    gate.leave(SCRIPT_WAVE_UNITS * 2);
    await settled();
    expect(order).toEqual([0, 1, 2]);
    expect(gate.enter(1)).toBeUndefined(); // it fits and no one waits: no promise to pass
  });

  it("fails a waiter whose deadline passes, not sent, and lets in those behind it that now fit", async () => {
    const gate = new WaveGate();
    expect(gate.enter(10)).toBeUndefined();
    const late = gate.enter(10, Date.now() + 20); // 20 > 16: waits
    const behind = gate.enter(4); // would fit, but comes after it
    let letIn = false;
    void behind?.then(() => (letIn = true));
    await settled();
    expect(letIn).toBe(false);
    const error = await late?.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurnTimeoutError);
    expect((error as Error).message).toMatch(/before its turn: 10 units .* \(not sent\)$/);
    await settled();
    expect(letIn).toBe(true);
    gate.leave(4);
    gate.leave(10);
    expect(gate.enter(SCRIPT_WAVE_UNITS)).toBeUndefined(); // every unit came back
  });

  it("holds a waiter whose deadline is beyond setTimeout's range (which would fire at once) until its turn", async () => {
    const gate = new WaveGate();
    expect(gate.enter(10)).toBeUndefined();
    let outcome = "waiting";
    void gate.enter(10, Date.now() + 2 ** 32)?.then(
      () => (outcome = "let in"),
      () => (outcome = "failed"),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(outcome).toBe("waiting");
    gate.leave(10);
    await settled();
    expect(outcome).toBe("let in");
  });
});

// A call resent after a redirection whose deadline passed before the resend went (the slot map's
// reading or the backoff took the rest of it) says what held it, not only that its time ran out.
describe("keptWhatHeld", () => {
  const clusterDown: Outcome = { ok: false, error: new Error("CLUSTERDOWN Hash slot not served") };
  const deadlinePassed: Outcome = { ok: false, error: new CommandTimeoutError("the call's deadline of 650 ms passed") };

  it("names the redirection the pass before met, as the timeout's cause", () => {
    const kept = keptWhatHeld(deadlinePassed, clusterDown);
    expect(!kept.ok && kept.error).toBeInstanceOf(CommandTimeoutError);
    expect(!kept.ok && kept.error.message).toBe("the call's deadline of 650 ms passed: Redis answered CLUSTERDOWN Hash slot not served");
    expect(!kept.ok && kept.error.cause).toBe(!clusterDown.ok && clusterDown.error);
  });

  it("leaves any other outcome as it is: an answer, a timeout of a command a server took or of a turn, one after no redirection", () => {
    const answered: Outcome = { ok: true, reply: "ok" };
    const serverTimeout: Outcome = { ok: false, error: new CommandTimeoutError("no answer within 500 ms", { address: "127.0.0.1:7001" }) };
    expect(keptWhatHeld(answered, clusterDown)).toBe(answered);
    expect(keptWhatHeld(serverTimeout, clusterDown)).toBe(serverTimeout);
    expect(keptWhatHeld(deadlinePassed, { ok: false, error: new Error("NOSCRIPT No matching script") })).toBe(deadlinePassed);
    expect(keptWhatHeld(deadlinePassed, answered)).toBe(deadlinePassed);
    const turn: Outcome = { ok: false, error: new TurnTimeoutError("the call's deadline passed before its turn", "127.0.0.1:7001") };
    expect(keptWhatHeld(turn, clusterDown)).toBe(turn); // its class and node tell the runner what held it
  });
});
