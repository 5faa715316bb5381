// Compile-time checks of actor typing (checked by `tsc --noEmit -p tsconfig.json`,
// and by test/types/actor-types.test.ts). Every `@ts-expect-error` below must be an
// error: an unused one is itself a compile error, so a clean tsc run proves that
// wrong argument types, unknown methods and wrong result types are all rejected.
// This file is type-checked only; it never runs.
import * as ray from "tsray";

const Account = ray.remote(
  class Account {
    balance: number;

    constructor(
      readonly owner: string,
      opening: number,
    ) {
      this.balance = opening;
    }

    deposit(amount: number, memo?: string): number {
      void memo;
      this.balance += amount;
      return this.balance;
    }

    async statement(): Promise<{ owner: string; balance: number }> {
      return { owner: this.owner, balance: this.balance };
    }

    tags(): string[] {
      return [this.owner];
    }
  },
);

export async function typed(): Promise<void> {
  // Constructor arguments are checked (each may also be a ref to a value of its type).
  const acct = Account.remote("ada", 10);
  Account.remote("ada", await ray.put(10));
  // @ts-expect-error: the opening balance must be a number
  Account.remote("ada", "10");
  // @ts-expect-error: missing constructor argument
  Account.remote("ada");

  // Method arguments are checked.
  const r1: ray.ObjectRef<number> = acct.deposit.remote(5);
  acct.deposit.remote(5, "salary");
  acct.deposit.remote(await ray.put(5));
  // @ts-expect-error: amount must be a number
  acct.deposit.remote("5");
  // @ts-expect-error: memo must be a string
  acct.deposit.remote(5, 6);
  // @ts-expect-error: too many arguments
  acct.deposit.remote(5, "memo", true);
  // @ts-expect-error: a ref to a string is not a number
  acct.deposit.remote(await ray.put("5"));

  // Unknown methods and fields are type errors.
  // @ts-expect-error: there is no method "withdraw"
  acct.withdraw.remote(1);
  // @ts-expect-error: "balance" is a field, not a method
  acct.balance.remote();

  // A method must be called through .remote.
  // @ts-expect-error: actor methods cannot be called directly
  acct.deposit(1);

  // ray.get infers the method's (awaited) return type.
  const balance: number = await ray.get(r1);
  // @ts-expect-error: deposit returns a number, not a string
  const wrong: string = await ray.get(acct.deposit.remote(1));
  const stmt = await ray.get(acct.statement.remote());
  const owner: string = stmt.owner;
  // @ts-expect-error: statement() resolves to an object, not a Promise (ray.get awaits it)
  const notAwaited: Promise<unknown> = await ray.get(acct.statement.remote());
  // @ts-expect-error: balance is a number
  const badField: string = (await ray.get(acct.statement.remote())).balance;
  const many: string[][] = await ray.get([acct.tags.remote(), acct.tags.remote()]);
  // @ts-expect-error: tags() gives string[], not number[]
  const badMany: number[][] = await ray.get([acct.tags.remote()]);

  // Handles are typed values: they can be passed where a handle of that class is expected.
  type AccountHandle = ReturnType<typeof Account.remote>;
  const useHandle = (h: AccountHandle) => h.deposit.remote(1);
  useHandle(acct);
  const viaOptions: AccountHandle = Account.options({ name: "x", maxConcurrency: 2 }).remote("b", 1);
  // @ts-expect-error: unknown actor option
  Account.options({ numGPUs: 1 });
  // @ts-expect-error: the remote class is not constructible with new
  new Account("ada", 1);

  void [balance, wrong, owner, notAwaited, badField, many, badMany, viaOptions];
}
