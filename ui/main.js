// Start screen: asks the app shell for the engine's status and shows it.
"use strict";

async function showEngineStatus() {
  const headline = document.getElementById("headline");
  const tauri = window.__TAURI__;
  if (!tauri || !tauri.core) {
    headline.textContent = "This page runs inside the FaceKiosk app.";
    return;
  }
  try {
    const s = await tauri.core.invoke("engine_status");
    if (s.ready) {
      headline.textContent = "Ready";
      document.getElementById("runtime-version").textContent = s.runtimeVersion;
      document.getElementById("provider").textContent = s.provider;
      document.getElementById("providers").textContent = s.availableProviders.join(", ");
      document.getElementById("status").hidden = false;
    } else {
      headline.textContent = "The face engine cannot start";
      const p = document.getElementById("problem");
      p.textContent = s.problem;
      p.hidden = false;
    }
  } catch (e) {
    headline.textContent = "The face engine cannot start";
    const p = document.getElementById("problem");
    p.textContent = String(e);
    p.hidden = false;
  }
}

document.addEventListener("DOMContentLoaded", showEngineStatus);
