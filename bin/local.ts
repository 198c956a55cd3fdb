// Placeholder until local mode lands (issue 5): `npm start` must not fail.
console.log(
  'custody: local mode arrives with issue 5 (npm start will serve the signed API on 127.0.0.1:8787).',
);
