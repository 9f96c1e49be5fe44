import { describe, expect, it } from "vitest";
import { scriptTimeOf } from "../../src/core/scriptTime.js";

describe("scriptTimeOf", () => {
  it("sums script time over servers from INFO commandstats, with or without Redis 6.2's error counts", () => {
    const redis7 = [
      "# Commandstats",
      "cmdstat_evalsha:calls=3,usec=45,usec_per_call=15.00,rejected_calls=0,failed_calls=1",
      "cmdstat_fcall_ro:calls=1,usec=5,usec_per_call=5.00,rejected_calls=2,failed_calls=0",
      "cmdstat_fcall:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=0",
      "cmdstat_eval_ro:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=0",
      "cmdstat_evalsha_ro:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=1",
      "cmdstat_get:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=0",
      "cmdstat_client|list:calls=1,usec=100,usec_per_call=100.00,rejected_calls=0,failed_calls=0",
    ].join("\r\n");
    const redis60 = "# Commandstats\r\ncmdstat_eval:calls=2,usec=50,usec_per_call=25.00\r\ncmdstat_set:calls=5,usec=50,usec_per_call=10.00\r\n";
    expect(scriptTimeOf([redis7, redis60])).toEqual({ calls: 9, usecPerCall: 130 / 9, shareOfCommandTime: 130 / 330, failedCalls: 2 });
    expect(scriptTimeOf(["# Commandstats\r\n"])).toEqual({ calls: 0, usecPerCall: 0, shareOfCommandTime: 0, failedCalls: 0 });
  });
});
