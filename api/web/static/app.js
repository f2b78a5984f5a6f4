// Live tables: a table with data-stream follows the API's server-sent events (the browser's
// EventSource reconnects by itself and sends Last-Event-ID); each changed row is fetched as
// the page renders it and put in place, newest first.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table[data-stream]")) {
    const body = table.tBodies[0];
    const live = document.getElementById("live");
    const after = table.dataset.cursor ? "?after=" + encodeURIComponent(table.dataset.cursor) : "";
    const source = new EventSource(table.dataset.stream + after);
    source.addEventListener("order", async (event) => {
      const order = JSON.parse(event.data);
      const answer = await fetch(table.dataset.row + encodeURIComponent(order.order_number) + "/row");
      if (!answer.ok) return;
      const holder = document.createElement("tbody");
      holder.innerHTML = (await answer.text()).trim();
      const row = holder.firstElementChild;
      document.getElementById("order-" + order.order_number)?.remove();
      document.getElementById("no-orders")?.remove();
      row.classList.add("fresh");
      body.prepend(row);
    });
    source.onopen = () => { if (live) live.textContent = "live"; };
    source.onerror = () => { if (live) live.textContent = "reconnecting…"; };
  }
});

// Depth charts: each canvas.depth holds its order book's levels; Chart.js draws the units
// queued at each price, asks above the buyer's price and bids below.
window.addEventListener("load", () => {
  if (typeof Chart === "undefined") return;
  for (const canvas of document.querySelectorAll("canvas.depth")) {
    const book = JSON.parse(canvas.dataset.book);
    const levels = [...book.bids.slice().reverse(), ...book.asks];
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: levels.map(([price]) => price),
        datasets: [{ label: "units queued", data: levels.map(([, units]) => units), backgroundColor: "#0a5bd3" }],
      },
      options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    });
  }
});
