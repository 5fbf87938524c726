import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { client, forgetLogin, keepTokens, restoreLogin, type Me } from "./api.ts";
import { AuthScreen } from "./auth.tsx";
import { CharacterForm } from "./character-form.tsx";
import { GmScreen } from "./gm.tsx";
import { Home } from "./home.tsx";
import { PlayScreen } from "./play.tsx";
import { navigate, usePath } from "./router.ts";
import { WatchScreen } from "./watch.tsx";
import "./styles.css";

function Screen({ path }: { path: string }) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [first, id, screen, runId] = parts;
  if (first === "invite" && id) return <Home inviteCode={id} />;
  if (first === "u" && id) {
    if (screen === "gm") return <GmScreen key={id} universeId={id} />;
    if (screen === "watch") return <WatchScreen key={id} universeId={id} />;
    if (screen === "new") return <CharacterForm universeId={id} />;
    if (screen === "play" && runId) return <PlayScreen key={runId} universeId={id} runId={runId} />;
  }
  return <Home />;
}

function App() {
  const [me, setMe] = useState<Me | null>(() => restoreLogin());
  const path = usePath();
  useEffect(() => {
    if (!me) return;
    // the SDK renews the access token as it goes; keep the newest pair for the next reload
    const timer = setInterval(() => keepTokens(me), 5_000);
    return () => clearInterval(timer);
  }, [me]);
  if (!me) return <AuthScreen onLogin={setMe} />;
  return (
    <>
      <nav class="top">
        <a
          href="/"
          class="brand"
          onClick={(event) => {
            event.preventDefault();
            navigate("/");
          }}
        >
          Loom
        </a>
        <span class="who">
          {me.name} <code title="your player id: a GM can add you by it">{me.id}</code>
        </span>
        <button
          type="button"
          onClick={() => {
            void client.logout().catch(() => undefined);
            forgetLogin();
            setMe(null);
            navigate("/");
          }}
        >
          Log out
        </button>
      </nav>
      <Screen path={path} />
    </>
  );
}

const root = document.getElementById("app")!;
root.textContent = ""; // the "Loading" line the page shows until this script runs
render(<App />, root);
