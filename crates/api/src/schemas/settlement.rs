//! Gateway notifications, bank reports and settling (API.md §8, §9.3).
