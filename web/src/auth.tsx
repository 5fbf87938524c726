import { useState } from "preact/hooks";
import { client, saveLogin, type Me } from "./api.ts";
import { ErrorLine, Field, formValues, Submit, useTask } from "./ui.tsx";

/** Register (name and password) or log in; the same form, two buttons. */
export function AuthScreen({ onLogin }: { onLogin: (me: Me) => void }) {
  const task = useTask();
  const [mode, setMode] = useState<"register" | "login">("register");
  const submit = (event: Event) => {
    const { name = "", password = "" } = formValues(event);
    void task.run(async () => {
      const result =
        mode === "register"
          ? await client.registerPlayer(name, password ? { password } : {})
          : await client.login(name, password);
      onLogin(saveLogin(result));
    });
  };
  return (
    <main class="narrow">
      <h1>Loom</h1>
      <p>
        Long-running Fate Core campaigns in shared worlds: play a character, run a universe as its game
        master, or watch a story unfold.
      </p>
      <div class="tabs" role="tablist">
        <button
          role="tab"
          aria-selected={mode === "register"}
          type="button"
          onClick={() => setMode("register")}
        >
          Register
        </button>
        <button role="tab" aria-selected={mode === "login"} type="button" onClick={() => setMode("login")}>
          Log in
        </button>
      </div>
      <form class="panel" onSubmit={submit} aria-label={mode === "register" ? "Register" : "Log in"}>
        <Field
          label="Name"
          hint={
            mode === "register" ? "how the table knows you; with a password it is also your login" : undefined
          }
        >
          <input name="name" required maxLength={100} autoComplete="username" />
        </Field>
        <Field
          label="Password"
          hint={mode === "register" ? "8–256 characters; leave empty to play on this device only" : undefined}
        >
          <input
            name="password"
            type="password"
            minLength={8}
            maxLength={256}
            required={mode === "login"}
            autoComplete={mode === "register" ? "new-password" : "current-password"}
          />
        </Field>
        <Submit task={task} label={mode === "register" ? "Register" : "Log in"} busyLabel="Signing in…" />
        <ErrorLine error={task.error} />
      </form>
    </main>
  );
}
