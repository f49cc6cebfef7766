// AZURE_OPENAI_BACKENDS, the app setting: every account's backends in one JSON list. A module of its
// own only because Bicep computes a loop over module outputs in a module's parameters, not in a variable.

@description('Each account\'s backends: its model deployments, with its endpoint, region, priority and key secret.')
param backendsPerAccount array

output value string = string(flatten(backendsPerAccount))
