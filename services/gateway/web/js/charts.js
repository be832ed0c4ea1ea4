// Chart.js (served from /vendor/, installed by npm) with the pages' defaults.
// Each canvas holds at most one chart: drawing again replaces it. Every chart
// also has a table or list with the same figures next to it, for screen
// readers and for copying.

const PALETTE = ['#1e6b3c', '#2f6fb0', '#b35c00', '#7a3e9d', '#a1131c', '#00757a', '#5c6b00', '#8a4b2d'];

function chartLib() {
  if (!window.Chart) throw new Error('Chart.js is not loaded (/vendor/chart.js/dist/chart.umd.js)');
  return window.Chart;
}

export function draw(canvas, config) {
  const Chart = chartLib();
  const existing = Chart.getChart(canvas);
  if (existing) existing.destroy();
  return new Chart(canvas, {
    ...config,
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: window.matchMedia('(prefers-reduced-motion: reduce)').matches ? false : { duration: 300 },
      ...config.options,
    },
  });
}

// Bars, one series. `format` turns a value into the tooltip's text.
// `integer`: counts, so no ticks between whole numbers.
export function bars(canvas, labels, values, { label = '', format = String, horizontal = false, integer = false } = {}) {
  return draw(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label, data: values, backgroundColor: labels.map((_, i) => PALETTE[i % PALETTE.length]) }] },
    options: {
      indexAxis: horizontal ? 'y' : 'x',
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => format(c.raw) } } },
      scales: { [horizontal ? 'x' : 'y']: { beginAtZero: true, ticks: { callback: (v) => format(v), ...(integer ? { precision: 0 } : {}) } } },
    },
  });
}

export function doughnut(canvas, labels, values, { format = String } = {}) {
  return draw(canvas, {
    type: 'doughnut',
    data: { labels, datasets: [{ data: values, backgroundColor: labels.map((_, i) => PALETTE[i % PALETTE.length]) }] },
    options: { plugins: { tooltip: { callbacks: { label: (c) => `${c.label}: ${format(c.raw)}` } } } },
  });
}

export function line(canvas, labels, values, { label = '', format = String } = {}) {
  return draw(canvas, {
    type: 'line',
    data: { labels, datasets: [{ label, data: values, borderColor: PALETTE[0], backgroundColor: 'rgba(30,107,60,.15)', fill: true, tension: 0.2 }] },
    options: {
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => format(c.raw) } } },
      scales: { y: { beginAtZero: true, ticks: { callback: (v) => format(v) } } },
    },
  });
}
