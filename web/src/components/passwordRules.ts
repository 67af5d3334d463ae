/** The contract's password rules, as a person reads them before submitting. */
export const PASSWORD_RULES = "8 to 72 characters, with an upper-case letter, a lower-case letter and a digit.";
