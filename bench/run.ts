// Placeholder until the benchmark lands (issue 7).
console.log('custody: the benchmark arrives with issue 7.');
