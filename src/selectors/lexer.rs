//! The label selector lexer, a byte-for-byte port of apimachinery's `Lexer`.
//!
//! Ported rather than redesigned because the accepted language is defined by
//! this code, quirks included: it works on bytes; any byte that is not
//! whitespace (` `, `\t`, `\r`, `\n`) or one of `=!(),<>` belongs to an
//! identifier (so `||` or `ключ` lex as identifiers and fail validation
//! later); and a NUL byte reads as "end of input" where a token may start,
//! but merely ends a token elsewhere (`x=\0y` means `x=y`, `\0x` means
//! everything). Token boundaries always fall on ASCII bytes, so every literal
//! is a valid UTF-8 slice of the input.

/// Lexer tokens; `In`/`NotIn` double as identifiers where values are expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// Go's `string2token`: literals that are tokens rather than identifiers.
fn literal_token(s: &[u8]) -> Option<Token> {
    Some(match s {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"in" => Token::In,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"notin" => Token::NotIn,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(ch: u8) -> bool {
    matches!(ch, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    /// The next byte, or 0 at the end (a NUL byte in the input reads the same).
    fn read(&mut self) -> u8 {
        match self.s.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    /// Only ever called after `read` returned a non-zero byte.
    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn literal(&self, start: usize, end: usize) -> String {
        String::from_utf8_lossy(self.s.get(start..end).unwrap_or_default()).into_owned()
    }

    fn scan_id_or_keyword(&mut self) -> (Token, String) {
        let start = self.pos;
        let end = loop {
            let before = self.pos;
            let ch = self.read();
            if ch == 0 {
                break before;
            }
            if is_special_symbol(ch) || is_whitespace(ch) {
                self.unread();
                break before;
            }
        };
        let lit = self.s.get(start..end).unwrap_or_default();
        (
            literal_token(lit).unwrap_or(Token::Identifier),
            self.literal(start, end),
        )
    }

    /// Longest operator at the cursor: `!=` and `==` win over `!` and `=`.
    fn scan_special_symbol(&mut self) -> (Token, String) {
        let start = self.pos;
        let mut last: Option<(Token, usize)> = None;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if !is_special_symbol(ch) {
                self.unread();
                break;
            }
            match literal_token(self.s.get(start..self.pos).unwrap_or_default()) {
                Some(tok) => last = Some((tok, self.pos)),
                None if last.is_some() => {
                    self.unread();
                    break;
                }
                None => {}
            }
        }
        match last {
            Some((tok, end)) => (tok, self.literal(start, end)),
            // Unreachable: every special symbol alone is a token. Go returns
            // an ErrorToken here, which the parser reports as unexpected.
            None => (Token::EndOfString, String::new()),
        }
    }

    fn lex(&mut self) -> (Token, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special_symbol(ch) {
            self.scan_special_symbol()
        } else {
            self.scan_id_or_keyword()
        }
    }
}

/// All tokens of `s`, ending with (and including) the first `EndOfString`.
pub(crate) fn scan(s: &str) -> Vec<(Token, String)> {
    let mut lexer = Lexer {
        s: s.as_bytes(),
        pos: 0,
    };
    let mut items = Vec::new();
    loop {
        let item = lexer.lex();
        let done = item.0 == Token::EndOfString;
        items.push(item);
        if done {
            return items;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Token::*;
    use super::*;

    fn tokens(s: &str) -> Vec<Token> {
        scan(s).into_iter().map(|(t, _)| t).collect()
    }

    /// apimachinery's TestLexer: the first token and its literal.
    #[test]
    fn single_tokens() {
        let cases = [
            ("", EndOfString),
            (",", Comma),
            ("notin", NotIn),
            ("in", In),
            ("=", Equals),
            ("==", DoubleEquals),
            (">", GreaterThan),
            ("<", LessThan),
            ("!", DoesNotExist),
            ("!=", NotEquals),
            ("(", OpenPar),
            (")", ClosedPar),
            ("~", Identifier),
            ("||", Identifier),
        ];
        for (s, want) in cases {
            let (tok, lit) = scan(s).remove(0);
            assert_eq!(tok, want, "{s:?}");
            assert_eq!(lit, s, "{s:?}");
        }
    }

    /// apimachinery's TestLexerSequence and TestParserLookahead.
    #[test]
    fn token_sequences() {
        let cases: &[(&str, &[Token])] = &[
            (
                "key in ( value )",
                &[Identifier, In, OpenPar, Identifier, ClosedPar],
            ),
            (
                "key notin ( value )",
                &[Identifier, NotIn, OpenPar, Identifier, ClosedPar],
            ),
            (
                "key in ( value1, value2 )",
                &[Identifier, In, OpenPar, Identifier, Comma, Identifier, ClosedPar],
            ),
            ("key", &[Identifier]),
            ("!key", &[DoesNotExist, Identifier]),
            ("()", &[OpenPar, ClosedPar]),
            (
                "x in (),y",
                &[Identifier, In, OpenPar, ClosedPar, Comma, Identifier],
            ),
            (
                "== != (), = notin",
                &[DoubleEquals, NotEquals, OpenPar, ClosedPar, Comma, Equals, NotIn],
            ),
            ("key>2", &[Identifier, GreaterThan, Identifier]),
            ("key<1", &[Identifier, LessThan, Identifier]),
            ("!!=", &[DoesNotExist, NotEquals]),
            ("===", &[DoubleEquals, Equals]),
            ("=!", &[Equals, DoesNotExist]),
        ];
        for (s, want) in cases {
            let mut want = want.to_vec();
            want.push(EndOfString);
            assert_eq!(tokens(s), want, "{s:?}");
        }
    }

    #[test]
    fn nul_bytes_end_input_only_where_a_token_starts() {
        assert_eq!(tokens("\0x"), [EndOfString]);
        assert_eq!(
            scan("a\0b"),
            [
                (Identifier, "a".into()),
                (Identifier, "b".into()),
                (EndOfString, "".into())
            ]
        );
        assert_eq!(tokens("x=\0y"), [Identifier, Equals, Identifier, EndOfString]);
        assert_eq!(tokens("x, \0y"), [Identifier, Comma, EndOfString]);
    }

    #[test]
    fn unicode_is_identifier_material() {
        assert_eq!(scan("ключ=значение")[2], (Identifier, "значение".to_owned()));
        assert_eq!(scan("\u{a0}x")[0], (Identifier, "\u{a0}x".to_owned()));
        assert_eq!(tokens("\u{b}x"), [Identifier, EndOfString]);
    }
}
