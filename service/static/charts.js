// A rule's recent scores as a line chart with labelled axes: score (0..1) against minutes before now,
// with the rule's threshold as a dashed line.
const COLORS = { line: "#6cb6ff", threshold: "#e3b341", axis: "#9aa7b4", grid: "#2e3944" };

export function drawChart(canvas, points, { threshold, windowS, yLabel }) {
  const ratio = window.devicePixelRatio || 1;
  const width = (canvas.width = Math.max(1, canvas.clientWidth * ratio));
  const height = (canvas.height = Math.max(1, canvas.clientHeight * ratio));
  const ctx = canvas.getContext("2d");
  const font = 11 * ratio;
  const box = { left: 40 * ratio, right: width - 8 * ratio, top: 14 * ratio, bottom: height - 18 * ratio };
  const now = Date.now() / 1000;
  const x = (t) => box.left + ((t - (now - windowS)) / windowS) * (box.right - box.left);
  const y = (s) => box.bottom - Math.min(1, Math.max(0, s)) * (box.bottom - box.top);
  ctx.clearRect(0, 0, width, height);
  ctx.font = `${font}px system-ui, sans-serif`;
  axes(ctx, box, { x, y, windowS, now, ratio, yLabel });
  thresholdLine(ctx, box, y(threshold), threshold, ratio);
  series(ctx, points.filter((p) => p[0] >= now - windowS), x, y, ratio);
}

function axes(ctx, box, { y, windowS, ratio, yLabel }) {
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.axis;
  ctx.lineWidth = ratio;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const s of [0, 0.5, 1]) {
    line(ctx, box.left, y(s), box.right, y(s));
    ctx.fillText(s.toFixed(1), box.left - 4 * ratio, y(s));
  }
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(yLabel, box.left, 0);
  ctx.textBaseline = "bottom";
  const minutes = windowS / 60;
  for (let m = minutes; m >= 0; m -= 1) {
    const px = box.left + ((minutes - m) / minutes) * (box.right - box.left);
    ctx.textAlign = m === 0 ? "right" : m === minutes ? "left" : "center";
    ctx.fillText(m === 0 ? "now" : `−${m} min`, px, box.bottom + 18 * ratio);
    line(ctx, px, box.bottom, px, box.bottom + 3 * ratio);
  }
}

function thresholdLine(ctx, box, py, threshold, ratio) {
  ctx.strokeStyle = COLORS.threshold;
  ctx.fillStyle = COLORS.threshold;
  ctx.setLineDash([6 * ratio, 4 * ratio]);
  line(ctx, box.left, py, box.right, py);
  ctx.setLineDash([]);
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  ctx.fillText(`threshold ${threshold.toFixed(2)}`, box.right, py - 2 * ratio);
}

function series(ctx, points, x, y, ratio) {
  ctx.strokeStyle = COLORS.line;
  ctx.lineWidth = 2 * ratio;
  ctx.beginPath();
  points.forEach(([t, s], i) => (i === 0 ? ctx.moveTo(x(t), y(s)) : ctx.lineTo(x(t), y(s))));
  ctx.stroke();
}

function line(ctx, x0, y0, x1, y1) {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}
