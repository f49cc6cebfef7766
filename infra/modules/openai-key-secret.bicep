// Copies the Azure OpenAI account's key into Key Vault during the deployment, so that the key
// never passes through a parameter, an output or a person.

@description('Name of the existing Azure OpenAI account.')
param openAiAccountName string

@description('Name of the existing Key Vault.')
param keyVaultName string

@description('Name of the secret: the app reads it as KEY_VAULT_SECRET_NAME.')
param secretName string

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: openAiAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: secretName
  properties: {
    value: account.listKeys().key1
    contentType: 'Azure OpenAI api-key (key1)'
  }
}

output name string = secret.name
