// The tests exercise BitWriter/BitReader, which are internal to this assembly.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Pattoo.Edge.Tests")]
