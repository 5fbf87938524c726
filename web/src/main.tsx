import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { client, forgetLogin, LOGIN_KEY, onLoginLost, restoreLogin, storedLogin, type Me } from "./api.ts";
import { AuthScreen } from "./auth.tsx";
import { CharacterForm } from "./character-form.tsx";
import { GmScreen } from "./gm.tsx";
import { Home } from "./home.tsx";
import { PlayScreen } from "./play.tsx";
import { navigate, usePath } from "./router.ts";
import { WatchScreen } from "./watch.tsx";
import "./styles.css";

/** A part of the address as written, when it is no percent-encoding (a link cut short, or made to break the page). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function Screen({ path }: { path: string }) {
  const parts = path.split("/").filter(Boolean).map(decoded);
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
  // a refused renewal, or this tab's log-out: back to the login screen
  useEffect(() => onLoginLost(() => setMe(null)), []);
  useEffect(() => {
    // what the browser's other tabs do to the shared login (a tab hears no event of its own)
    const heard = (event: StorageEvent) => {
      if (event.storageArea !== localStorage || (event.key !== null && event.key !== LOGIN_KEY)) return;
      const stored = storedLogin();
      if (!stored) {
        // logged out elsewhere: this tab too, without calling the server (that tab did)
        if (me) {
          forgetLogin();
          setMe(null);
        }
      } else if (stored.me.id !== me?.id) {
        // another player logged in: this tab becomes them, as it would on its next load
        location.reload();
      } else if (stored.refreshToken !== client.refreshToken) {
        // another tab renewed (or logged in again as the same player): use its newer pair
        client.useToken(stored.token, stored.refreshToken);
      }
    };
    addEventListener("storage", heard);
    return () => removeEventListener("storage", heard);
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
