// Keras's reference example imdb_lstm.py: Embedding(20000, 128) -> LSTM(128, dropout 0.2, recurrent_dropout 0.2)
// -> Dense(1, sigmoid), binary cross-entropy, Adam, reviews cut to 80 words, batch 32, 15 epochs, the test
// reviews as validation data; prints the test accuracy after every epoch. The model is in ../Shared/KerasModels.cs.
//
//   dotnet run -c Release --project examples/Keras/ImdbLstm -- [--data PATH] [--epochs N] [--batch N]
//       [--threads N] [--subset N] [--seed N] [--charts DIR] [--save PATH]
using NanoNet.Examples.Keras;

return ImdbExample.Run(args, "imdb_lstm", KerasModels.ImdbLstm, KerasModels.ImdbLstmMaxLength, KerasModels.ImdbLstmBatchSize, epochs: 15);
